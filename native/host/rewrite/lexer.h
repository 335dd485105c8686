// pmetal MSL host runtime: the tokenizer of the rewrite step. It reads clang's preprocessed
// output: line markers (`# N "file"`) keep every token's file and line, so diagnostics and
// kernel locations point into the original .metal sources.
#pragma once
#include <string>
#include <vector>

namespace pmetal {
namespace host {
namespace rw {

enum TokKind { T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT };

struct Tok {
  TokKind kind;
  size_t start, end;
  int line;
  int file;  // index into Lexer::files
};

struct Lexer {
  const std::string& s;
  std::vector<Tok> toks;
  std::vector<std::string> files;
  explicit Lexer(const std::string& src) : s(src) {}
  void run();
};

}  // namespace rw
}  // namespace host
}  // namespace pmetal
