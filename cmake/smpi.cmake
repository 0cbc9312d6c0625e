# The SMPI build (-DCLOCKBENCH_SMPI=ON, docs/simulation.md): the same sources compiled with SimGrid's
# smpicc/smpicxx, so that clockbench runs on a simulated platform under smpirun (scripts/simulate).
# Included before project(), where the compilers are chosen. Debian's parallel HDF5 is built on
# Open MPI, which cannot live beside SMPI's MPI: this build writes the same file with serial HDF5
# (src/io/run_writer.cpp, rank 0 writing every rank's rows). In its own build folder: a folder
# configured for the real build keeps its compilers.

find_program(CLOCKBENCH_SMPICC smpicc)
find_program(CLOCKBENCH_SMPICXX smpicxx)
find_program(CLOCKBENCH_H5CC h5cc) # serial HDF5's wrapper (Debian: libhdf5-dev; h5pcc is the parallel one)
if(NOT CLOCKBENCH_SMPICC OR NOT CLOCKBENCH_SMPICXX OR NOT CLOCKBENCH_H5CC)
  message(FATAL_ERROR "CLOCKBENCH_SMPI needs SimGrid's smpicc/smpicxx and serial HDF5's h5cc; on Debian 12: "
                      "apt-get install libsimgrid-dev libhdf5-dev (or scripts/install-deps)")
endif()
if(CMAKE_CXX_COMPILER AND NOT CMAKE_CXX_COMPILER STREQUAL CLOCKBENCH_SMPICXX)
  message(FATAL_ERROR "CLOCKBENCH_SMPI: this build folder was configured with ${CMAKE_CXX_COMPILER}; "
                      "configure the SMPI build in a folder of its own")
endif()
set(CMAKE_C_COMPILER ${CLOCKBENCH_SMPICC})
set(CMAKE_CXX_COMPILER ${CLOCKBENCH_SMPICXX})
# FindHDF5 asks this wrapper first; HDF5_PREFER_PARALLEL then has nothing left to prefer.
set(HDF5_C_COMPILER_EXECUTABLE ${CLOCKBENCH_H5CC} CACHE FILEPATH "HDF5 C compiler wrapper (serial: SMPI build)")
# The platform services (src/mpi/platform.hpp) are chosen by this one definition.
add_compile_definitions(CLOCKBENCH_SMPI=1)
# The unit tests and benchmarks are the real build's; the simulation is tested against it from there
# (tests/simulation/test_smpi.py).
set(BUILD_TESTING OFF CACHE BOOL "Build the testing tree (off in the SMPI build)")
set(CLOCKBENCH_BUILD_BENCHMARKS OFF CACHE BOOL "Build the benchmarks (off in the SMPI build)")
# smpicxx includes smpi_helpers.h first; this takes back what the program must not have routed.
add_compile_options(-include ${CMAKE_CURRENT_LIST_DIR}/smpi_overrides.h)
