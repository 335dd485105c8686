// pmetal MSL host runtime: file-system helpers (see fs.h).
#include "host/sys/fs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pmetal {
namespace host {

std::string readFile(const std::string& p, bool* ok) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    if (ok) *ok = false;
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  if (ok) *ok = true;
  return ss.str();
}

bool writeFile(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  if (!f) return false;
  f.write(data.data(), (std::streamsize)data.size());
  return (bool)f;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void mkdirs(const std::string& p) {
  std::string cur;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    cur = p.substr(0, j);
    if (!cur.empty()) mkdir(cur.c_str(), 0755);
    i = j + 1;
  }
}

void rmTree(const std::string& p) {
  DIR* d = opendir(p.c_str());
  if (d) {
    while (dirent* e = readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      std::string c = p + "/" + e->d_name;
      struct stat st;
      if (lstat(c.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) rmTree(c);
      else unlink(c.c_str());
    }
    closedir(d);
  }
  rmdir(p.c_str());
}

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

std::string envOr(const char* k, const std::string& d) {
  const char* v = getenv(k);
  return v && *v ? std::string(v) : d;
}

}  // namespace host
}  // namespace pmetal
