// MPI start-up and shut-down; errors are returned (MPI_ERRORS_RETURN) and checked by check_mpi.
#include "mpi/mpi_env.hpp"

namespace clockbench {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw MpiError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

MpiEnvironment::MpiEnvironment(int& argc, char**& argv) {
  int provided = 0;
  // FUNNELED: rank 0 runs a progress printer thread, which never calls MPI.
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw MpiError("MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiEnvironment::~MpiEnvironment() { MPI_Finalize(); }

std::string MpiEnvironment::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string s(text, static_cast<std::size_t>(len));
  const auto cut = s.find_first_of(",\n");
  return cut == std::string::npos ? s : s.substr(0, cut);
}

std::string MpiEnvironment::processor_name() {
  char text[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(text, &len);
  return std::string(text, static_cast<std::size_t>(len));
}

std::string bcast_string(const std::string& s, int root, MPI_Comm comm) {
  auto len = bcast_value<std::uint64_t>(s.size(), root, comm);
  std::string out = s;
  out.resize(len);
  check_mpi(MPI_Bcast(out.data(), static_cast<int>(len), MPI_CHAR, root, comm), "MPI_Bcast");
  return out;
}

std::vector<double> bcast_doubles(const std::vector<double>& v, int root, MPI_Comm comm) {
  auto len = bcast_value<std::uint64_t>(v.size(), root, comm);
  std::vector<double> out = v;
  out.resize(len);
  check_mpi(MPI_Bcast(out.data(), static_cast<int>(len), MPI_DOUBLE, root, comm), "MPI_Bcast");
  return out;
}

}  // namespace clockbench
