// image.cpp: the Image constructor and the file helpers shared by the PNG and JPEG codecs (whole-file
// read, atomic write through a temporary, fsync and rename). No decoding happens here.
#include "data/image.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/error.h"

namespace mdp::data {

Image::Image(int w, int h, int c, int depth) {
  MDP_CHECK(w > 0 && h > 0, "Image: size {}x{} must be positive", w, h);
  MDP_CHECK(c >= 1 && c <= 4, "Image: {} channels, expected 1..4", c);
  MDP_CHECK(depth == 8 || depth == 16, "Image: bit depth {}, expected 8 or 16", depth);
  size_t bytes = size_t(w) * size_t(h) * size_t(c) * (depth == 16 ? 2 : 1);
  MDP_CHECK(bytes <= kMaxImageBytes, "Image: {}x{}x{} {}-bit is {} bytes, more than the limit of {}", w,
            h, c, depth, bytes, kMaxImageBytes);
  width = w;
  height = h;
  channels = c;
  bit_depth = depth;
  pixels.assign(bytes, 0);
}

std::string Image::describe() const {
  return fmt::format("{}x{}x{} {}-bit", width, height, channels, bit_depth);
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  MDP_CHECK(fd >= 0, "{}: {}: cannot open file ({})", who, path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(fmt::format("{}: {}: cannot stat file ({})", who, path, std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: {}: not a regular file", who, path));
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(size_t(st.st_size));
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(fmt::format("{}: {}: read error ({})", who, path, std::strerror(err)));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return bytes;
}

void write_file_atomic(const std::string& path, const uint8_t* data, size_t size, const char* who) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  MDP_CHECK(fd >= 0, "{}: {}: cannot create temporary file {} ({})", who, path, tmp, std::strerror(errno));
  auto fail = [&](const char* what) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(fmt::format("{}: {}: {} ({})", who, path, what, std::strerror(err)));
  };
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write error");
    done += size_t(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) fail("close failed");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename failed");

  // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
  std::string_view p(path);
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string_view::npos ? "." : slash == 0 ? "/" : std::string(p.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace mdp::data
