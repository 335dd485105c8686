// pmetal MSL host runtime: the small file-system helpers the compiler and the ASan client use.
#pragma once
#include <string>

namespace pmetal {
namespace host {

std::string readFile(const std::string& path, bool* ok = nullptr);
bool writeFile(const std::string& path, const std::string& data);
bool exists(const std::string& path);
void mkdirs(const std::string& path);
void rmTree(const std::string& path);
void replaceAll(std::string& s, const std::string& from, const std::string& to);
// $name when set and non-empty, else `fallback`
std::string envOr(const char* name, const std::string& fallback);

// A private directory removed (with its contents) when it goes out of scope.
struct TempDir {
  std::string path;
  explicit TempDir(std::string p) : path(std::move(p)) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { rmTree(path); }
};

}  // namespace host
}  // namespace pmetal
