// HDF5 checks and owners.
#include "io/h5_handles.hpp"

namespace clockbench {

namespace {

// The innermost description on HDF5's error stack (e.g. the MPI-IO layer's "file write failed"
// with the system's reason), so that the one error line says why, not only where.
herr_t keep_innermost(unsigned, const H5E_error2_t* err, void* out) {
  auto& kept = *static_cast<std::string*>(out);
  if (kept.empty() && err->desc && *err->desc) kept = err->desc;
  return 0;
}

std::string failure(const char* call) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  std::string line = std::string(call) + " failed";
  if (!detail.empty()) line += " (" + detail + ")";
  return line;
}

// Returns `id`, or throws H5Error("<call> failed ...") when it is negative.
hid_t check_h5(hid_t id, const char* call) {
  if (id < 0) throw H5Error(failure(call));
  return id;
}

}  // namespace

void check_h5_status(herr_t rc, const char* call) {
  if (rc < 0) throw H5Error(failure(call));
}

void quiet_h5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void H5Id::close(const char* call) {
  if (id_ < 0 || !closer_) return;
  const herr_t rc = closer_(id_);
  id_ = H5I_INVALID_HID;
  check_h5_status(rc, call);
}

H5Id owned_file(hid_t id, const char* call) { return {check_h5(id, call), H5Fclose}; }
H5Id owned_group(hid_t id, const char* call) { return {check_h5(id, call), H5Gclose}; }
H5Id owned_dataset(hid_t id, const char* call) { return {check_h5(id, call), H5Dclose}; }
H5Id owned_space(hid_t id, const char* call) { return {check_h5(id, call), H5Sclose}; }
H5Id owned_type(hid_t id, const char* call) { return {check_h5(id, call), H5Tclose}; }
H5Id owned_plist(hid_t id, const char* call) { return {check_h5(id, call), H5Pclose}; }
H5Id owned_attribute(hid_t id, const char* call) { return {check_h5(id, call), H5Aclose}; }

std::string h5_library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace clockbench
