// pmetal MSL host runtime: the rewrite step's tokenizer (see lexer.h).
#include "host/rewrite/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace pmetal {
namespace host {
namespace rw {

void Lexer::run() {
  size_t i = 0, n = s.size();
  int line = 1, file = 0;
  files.push_back("<source>");
  bool lineStart = true;
  while (i < n) {
    char c = s[i];
    if (c == '\n') {
      line++;
      i++;
      lineStart = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      i++;
      continue;
    }
    if (lineStart && c == '#') {
      // line marker `# N "file" flags` or a #pragma: skip the line
      size_t e = s.find('\n', i);
      if (e == std::string::npos) e = n;
      std::string l = s.substr(i, e - i);
      size_t k = 1;
      while (k < l.size() && l[k] == ' ') k++;
      if (k < l.size() && isdigit((unsigned char)l[k])) {
        int num = atoi(l.c_str() + k);
        size_t q = l.find('"');
        if (q != std::string::npos) {
          size_t q2 = l.find('"', q + 1);
          std::string f = l.substr(q + 1, q2 - q - 1);
          auto it = std::find(files.begin(), files.end(), f);
          if (it == files.end()) {
            files.push_back(f);
            file = (int)files.size() - 1;
          } else {
            file = (int)(it - files.begin());
          }
        }
        line = num - 1;  // the newline that ends the marker increments it
      }
      i = e;
      continue;
    }
    lineStart = false;
    size_t st = i;
    if (isalpha((unsigned char)c) || c == '_') {
      while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
      // string literal prefixes (u8"..", L"..") are not expected in MSL
      toks.push_back({T_IDENT, st, i, line, file});
      continue;
    }
    if (isdigit((unsigned char)c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
      // pp-number
      i++;
      while (i < n) {
        char d = s[i];
        if (isalnum((unsigned char)d) || d == '.' || d == '_' || d == '\'') {
          i++;
        } else if ((d == '+' || d == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E' || s[i - 1] == 'p' || s[i - 1] == 'P')) {
          i++;
        } else {
          break;
        }
      }
      toks.push_back({T_NUMBER, st, i, line, file});
      continue;
    }
    if (c == '"' || c == '\'') {
      char q = c;
      i++;
      while (i < n && s[i] != q) {
        if (s[i] == '\\') i++;
        if (i < n && s[i] == '\n') line++;
        i++;
      }
      i = std::min(i + 1, n);  // an unterminated literal ends at the end of the source
      toks.push_back({q == '"' ? T_STRING : T_CHAR, st, i, line, file});
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) {
        if (s[i] == '\n') line++;
        i++;
      }
      i = std::min(i + 2, n);
      continue;
    }
    // punctuators: two-char ones that matter
    static const char* two[] = {"::", "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--",
                                "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", nullptr};
    size_t len = 1;
    for (int k = 0; two[k]; k++)
      if (s.compare(i, 2, two[k]) == 0) {
        len = 2;
        break;
      }
    // keep '>>' split so template closers balance; '<<' stays
    if (len == 2 && s.compare(i, 2, ">>") == 0) len = 1;
    toks.push_back({T_PUNCT, i, i + len, line, file});
    i += len;
  }
}

}  // namespace rw
}  // namespace host
}  // namespace pmetal
