// RAII owners for HDF5 identifiers, and the checks that turn HDF5 failures into errors naming the call.
#pragma once

#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace clockbench {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws H5Error("<call> failed ...") when `rc` is negative.
void check_h5_status(herr_t rc, const char* call);

// Silences HDF5's own error-stack printing: failures reach the user as one clear line instead.
void quiet_h5_errors();

// Owns one identifier and closes it with the matching H5?close.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight into the C API

  // Closes now and reports failure (a file's close is where parallel writes can fail).
  void close(const char* call);

 private:
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

H5Id owned_file(hid_t id, const char* call);
H5Id owned_group(hid_t id, const char* call);
H5Id owned_dataset(hid_t id, const char* call);
H5Id owned_space(hid_t id, const char* call);
H5Id owned_type(hid_t id, const char* call);
H5Id owned_plist(hid_t id, const char* call);
H5Id owned_attribute(hid_t id, const char* call);

std::string h5_library_version();

}  // namespace clockbench
