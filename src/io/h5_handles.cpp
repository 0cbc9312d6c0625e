// HDF5 checks and owners.
#include "io/h5_handles.hpp"

namespace clockbench {

hid_t check_h5(hid_t id, const char* call) {
  if (id < 0) throw H5Error(std::string(call) + " failed");
  return id;
}

void check_h5_status(herr_t rc, const char* call) {
  if (rc < 0) throw H5Error(std::string(call) + " failed");
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
