// Output path checks with POSIX calls: the probe file proves the folder is writable (as root,
// access(2) says yes even where writing fails, e.g. on a read-only file system).
#include "app/output_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace clockbench {

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string default_name(std::uint64_t seed) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  const std::string base = std::string("clockbench-") + stamp + "-s" + std::to_string(seed);
  std::string name = base + ".h5";
  for (int i = 2; exists(name); ++i) name = base + "-" + std::to_string(i) + ".h5";
  return name;
}

// The checks of a file clockbench will write at the end (`label`: "output" or "--json", `option`
// the option that names it): one error line, or "" with plan.partial_path proven writable.
std::string plan_file(const std::string& path, bool force, const std::string& label, const std::string& option,
                      OutputPlan& plan) {
  plan.final_path = path;
  if (path.front() == '-')
    return label + " name '" + path + "' looks like an option (a value missing after " + option + "?); write ./" +
           path + " if you mean it";
  if (path.back() == '/') return label + " '" + path + "' names a folder: give a file name, e.g. " + path + "run.h5";
  const std::string folder = folder_of(path);
  struct stat st;
  if (stat(folder.c_str(), &st) != 0)
    return label + " folder '" + folder + "' does not exist: create it first (mkdir -p " + folder + ")";
  if (!S_ISDIR(st.st_mode)) return label + " folder '" + folder + "' is not a folder";
  if (lstat(path.c_str(), &st) == 0) {
    // Never written through, even with --force: the link could point anywhere.
    if (S_ISLNK(st.st_mode))
      return label + " '" + path + "' is a symbolic link: clockbench does not write through links (remove it, or " +
             "give the real path)";
    if (S_ISDIR(st.st_mode)) return label + " '" + path + "' is a folder: give a file name";
    if (!force)
      return label + " file '" + path + "' exists: choose another " + option + ", or add --force to overwrite it";
  }
  plan.partial_path = path + "." + std::to_string(getpid()) + ".partial";
  const int fd = open(plan.partial_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write in " + label + " folder '" + folder + "': " + std::strerror(errno);
  close(fd);
  unlink(plan.partial_path.c_str());
  return {};
}

}  // namespace

std::string plan_output(const std::string& requested, bool force, std::uint64_t seed, OutputPlan& plan) {
  return plan_file(requested.empty() ? default_name(seed) : requested, force, "output", "-o", plan);
}

std::string plan_json(const std::string& requested, bool force, const std::string& output, OutputPlan& plan) {
  if (requested == output) return "--json '" + requested + "' is also the output file (-o): give it another name";
  return plan_file(requested, force, "--json", "--json", plan);
}

std::string write_file(const OutputPlan& plan, const std::string& text, bool force) {
  const int fd = open(plan.partial_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write '" + plan.partial_path + "': " + std::strerror(errno);
  std::size_t done = 0;
  int error = 0;
  while (done < text.size() && error == 0) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else if (n == 0)
      error = EIO;
    else if (errno != EINTR)
      error = errno;
  }
  if (close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    unlink(plan.partial_path.c_str());
    return "cannot write '" + plan.final_path + "': " + std::strerror(error);
  }
  return publish_output(plan, force);
}

std::string diagnose_write_failure(const std::string& final_path) {
  const std::string folder = folder_of(final_path);
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) return "the output folder '" + folder + "' no longer exists";
  if (!S_ISDIR(st.st_mode)) return "'" + folder + "' is no longer a folder";
  struct statvfs fs;
  if (statvfs(folder.c_str(), &fs) != 0) return {};
  if (fs.f_flag & ST_RDONLY) return "the file system of '" + folder + "' is read-only";
  if (fs.f_bavail == 0) return "the file system of '" + folder + "' is full";
  return {};
}

std::string publish_output(const OutputPlan& plan, bool force) {
  const char* from = plan.partial_path.c_str();
  const char* to = plan.final_path.c_str();
  // MPI-IO creates the file with 0666 & ~umask: set 0644 whatever the umask, on the file itself.
  const int fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchmod(fd, 0644) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return "cannot set the permissions of '" + plan.partial_path + "': " + why;
  }
  close(fd);
  if (force) {
    if (std::rename(from, to) == 0) return {};
  } else {
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return {};
    if (errno == EINVAL) {  // file system without RENAME_NOREPLACE: link() also refuses to replace
      if (link(from, to) == 0) {
        unlink(from);
        return {};
      }
    }
    if (errno == EEXIST)
      return "output file '" + plan.final_path + "' appeared during the run; the run is kept in '" + plan.partial_path +
             "'";
  }
  return "cannot move '" + plan.partial_path + "' to '" + plan.final_path + "': " + std::strerror(errno);
}

}  // namespace clockbench
