/* Included after SMPI's smpi_helpers.h in every file of the SMPI build (cmake/smpi.cmake). It keeps
   SMPI's routing of time (clock_gettime, nanosleep, gettimeofday, sleep, usleep) to the simulation,
   and takes back the other names it redefines as macros: C++ libraries use them as member names
   (CLI11's App::exit), the program needs neither SMPI's shared malloc nor its getopt, and getpid
   stays the process's (the simulator's, one for every rank): SMPI's would be 1 for rank 0 in every
   simulation, and the partial file's name, <output>.<pid>.partial, must not be the same in two. */
#undef exit
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef getopt
#undef getopt_long
#undef getopt_long_only
#undef getpid
