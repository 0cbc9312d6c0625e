# Run by `cmake --install` (install(CODE) in CMakeLists.txt): installs the Slurm scripts into
# <prefix>/<datadir>/clockbench/slurm with the installation written into them. sbatch runs a copy
# of a job script from its spool folder, where the script cannot see where it came from, so each
# installed job script names its share/clockbench (the line `cb_installed_home=""`) and lib.sh the
# installed bin folder (`cb_installed_bindir=""`). The prefix is the one given to `cmake --install
# --prefix` (or CMAKE_INSTALL_PREFIX); DESTDIR is left out of the written paths, as it must be.
#
# In: CB_SOURCE_DIR, CB_STAGE (a folder of the build tree), CB_DATADIR and CB_BINDIR (as
# GNUInstallDirs gives them: relative to the prefix, or absolute), CB_PROGRAMS (job scripts, run by
# sbatch or directly), CB_FILES (sourced or read).

foreach(cb_dir DATADIR BINDIR)
  if(IS_ABSOLUTE "${CB_${cb_dir}}")
    set(cb_${cb_dir} "${CB_${cb_dir}}")
  else()
    set(cb_${cb_dir} "${CMAKE_INSTALL_PREFIX}/${CB_${cb_dir}}")
  endif()
endforeach()
set(cb_home "${cb_DATADIR}/clockbench")

# A bash word in single quotes: every ' becomes '\''.
function(cb_bash_quote out value)
  string(REPLACE "'" "'\\''" value "${value}")
  set(${out} "'${value}'" PARENT_SCOPE)
endfunction()
cb_bash_quote(cb_home_word "${cb_home}")
cb_bash_quote(cb_bindir_word "${cb_BINDIR}")

# cb_stage NAME MARKER VALUE: the script with its one marker line set to VALUE, in CB_STAGE.
function(cb_stage name marker value)
  file(READ "${CB_SOURCE_DIR}/slurm/${name}" text)
  string(FIND "${text}" "\n${marker}=\"\"\n" first)
  string(FIND "${text}" "\n${marker}=\"\"\n" last REVERSE)
  if(first EQUAL -1 OR NOT first EQUAL last)
    message(FATAL_ERROR "slurm/${name} must have exactly one line ${marker}=\"\" for the installation to fill in")
  endif()
  string(REPLACE "\n${marker}=\"\"\n" "\n${marker}=${value}\n" text "${text}")
  file(WRITE "${CB_STAGE}/${name}" "${text}")
endfunction()

file(REMOVE_RECURSE "${CB_STAGE}")
file(MAKE_DIRECTORY "${CB_STAGE}")
set(cb_programs "")
foreach(cb_name IN LISTS CB_PROGRAMS)
  file(STRINGS "${CB_SOURCE_DIR}/slurm/${cb_name}" cb_marker REGEX "^cb_installed_home=\"\"$")
  if(cb_marker)
    cb_stage(${cb_name} cb_installed_home "${cb_home_word}")
    list(APPEND cb_programs "${CB_STAGE}/${cb_name}")
  else()  # scaling.sh is run directly, never copied: it finds the home beside itself
    list(APPEND cb_programs "${CB_SOURCE_DIR}/slurm/${cb_name}")
  endif()
endforeach()
set(cb_files "")
foreach(cb_name IN LISTS CB_FILES)
  if(cb_name STREQUAL "lib.sh")
    cb_stage(${cb_name} cb_installed_bindir "${cb_bindir_word}")
    list(APPEND cb_files "${CB_STAGE}/${cb_name}")
  else()
    list(APPEND cb_files "${CB_SOURCE_DIR}/slurm/${cb_name}")
  endif()
endforeach()

file(INSTALL DESTINATION "${cb_home}/slurm" TYPE PROGRAM FILES ${cb_programs})
file(INSTALL DESTINATION "${cb_home}/slurm" TYPE FILE FILES ${cb_files})
