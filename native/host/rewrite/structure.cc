// pmetal MSL host runtime, rewrite step: bracket matching (an unbalanced source is an error),
// function/class bodies versus namespace scope, and each token's enclosing namespace.
#include "host/rewrite/rewriter.h"

#include <algorithm>

namespace pmetal {
namespace host {
namespace rw {

void Rewriter::computeStructure() {
  match.assign(t.size(), -1);
  depthKind.assign(t.size(), 0);
  tokNs.assign(t.size(), 0);
  nsNames.push_back("");
  std::vector<int> stack;       // open bracket token indices
  std::vector<int> braceKind;   // 0 namespace brace, 1 other
  std::vector<int> braceNs;     // ns index to restore
  int curNs = 0;
  int inBody = 0;
  for (size_t i = 0; i < t.size(); i++) {
    depthKind[i] = inBody > 0;
    tokNs[i] = curNs;
    if (t[i].kind != T_PUNCT) continue;
    char c = src[t[i].start];
    if (t[i].end - t[i].start != 1) continue;
    if (c == '(' || c == '[' || c == '{') {
      stack.push_back((int)i);
      if (c == '{') {
        // namespace brace?  `namespace X {` / `namespace {` / `namespace a::b {`
        int k = (int)i - 1;
        while (k >= 0 && (t[k].kind == T_IDENT || is(k, "::")) && !is(k, "namespace")) k--;
        bool ns = k >= 0 && is(k, "namespace");
        braceKind.push_back(ns ? 0 : 1);
        braceNs.push_back(curNs);
        if (ns) {
          std::string q = nsNames[curNs];
          std::string name = range(k + 1, i);
          name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
          if (!name.empty()) q += "::" + name;
          nsNames.push_back(q);
          curNs = (int)nsNames.size() - 1;
        } else {
          inBody++;
        }
      }
    } else if (c == ')' || c == ']' || c == '}') {
      // every later pass walks from a bracket to its match: an unbalanced source (which the
      // C++ compile would reject anyway) must stop here, not send them past the end
      char want = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (stack.empty() || src[t[stack.back()].start] != want) {
        res.error = where(i) + ": unbalanced '" + std::string(1, c) + "'";
        return;
      }
      {
        int o = stack.back();
        stack.pop_back();
        match[o] = (int)i;
        match[i] = o;
        if (c == '}' && !braceKind.empty()) {
          if (braceKind.back() == 1) inBody--;
          curNs = braceNs.back();
          braceKind.pop_back();
          braceNs.pop_back();
        }
      }
    }
  }
  if (!stack.empty()) res.error = where((size_t)stack.back()) + ": unclosed '" + std::string(1, src[t[stack.back()].start]) + "'";
}

}  // namespace rw
}  // namespace host
}  // namespace pmetal
