// RAII ownership of the MPI library, the check that turns MPI return codes into errors naming
// the call, and the few broadcasts the program needs.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace clockbench {

class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws MpiError("<call> failed: <MPI's message>") unless rc == MPI_SUCCESS.
void check_mpi(int rc, const char* call);

class MpiEnvironment {
 public:
  MpiEnvironment(int& argc, char**& argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  MPI_Comm world() const { return MPI_COMM_WORLD; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  static std::string library_version();  // first line of MPI_Get_library_version
  static std::string processor_name();

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Rank `root`'s value everywhere.
std::string bcast_string(const std::string& s, int root, MPI_Comm comm);
std::vector<double> bcast_doubles(const std::vector<double>& v, int root, MPI_Comm comm);
template <typename T>
T bcast_value(T value, int root, MPI_Comm comm) {
  check_mpi(MPI_Bcast(&value, sizeof(T), MPI_BYTE, root, comm), "MPI_Bcast");
  return value;
}

}  // namespace clockbench
