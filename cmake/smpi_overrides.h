/* Included after SMPI's smpi_helpers.h in every file of the SMPI build (cmake/smpi.cmake). It keeps
   SMPI's routing of time (clock_gettime, nanosleep, gettimeofday, sleep, usleep) and of getpid to
   the simulation, and takes back the other names it redefines as macros: C++ libraries use them as
   member names (CLI11's App::exit), and the program needs neither SMPI's shared malloc nor its
   getopt. */
#undef exit
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef getopt
#undef getopt_long
#undef getopt_long_only
