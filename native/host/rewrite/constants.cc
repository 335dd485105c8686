// pmetal MSL host runtime, rewrite step: function constants. `constant T x [[function_constant(n)]];`
// and program-scope constants derived from them become expressions that read the pipeline's
// constant values at run time (see rewriter.h).
#include "host/rewrite/rewriter.h"

#include <cstdlib>

namespace pmetal {
namespace host {
namespace rw {

// ---- function constants
void Rewriter::functionConstants() {
  for (size_t i = 0; i + 4 < t.size(); i++) {
    if (!is(i, "function_constant") || !is(i - 1, "[") || !is(i - 2, "[")) continue;
    // constant TYPE NAME [[function_constant(IDX)]] ;
    size_t nameTok = i - 3;
    size_t k = nameTok;
    while (k > 0 && !is(k, "constant")) {
      if (is(k, ";") || is(k, "}") || is(k, "{")) break;
      k--;
    }
    if (!is(k, "constant")) {
      res.error = where(i) + ": function_constant attribute not on a `constant` program-scope declaration";
      return;
    }
    if (!is(i + 1, "(")) continue;
    int idx = atoi(txt(i + 2).c_str());
    size_t semi = i;
    while (semi < t.size() && !is(semi, ";")) semi++;
    FunctionConstant fc;
    fc.name = txt(nameTok);
    fc.type = range(k + 1, nameTok);
    fc.index = idx;
    res.constants.push_back(fc);
    fcRepl[fc.name] = "(::pmetal::rt::fc<" + fc.type + ">(" + std::to_string(idx) + "))";
    replace(k, semi + 1, "");
    // mark the declaration tokens so later passes skip them
    for (size_t q = k; q <= semi; q++) skip.insert(q);
  }
  // derived program-scope constants: constant T x = <expr using function constants>;
  for (size_t i = 0; i < t.size(); i++) {
    if (!is(i, "constant") || skip.count(i) || depthKind[i]) continue;
    size_t eq = i;
    while (eq < t.size() && !is(eq, "=") && !is(eq, ";") && !is(eq, "(") && !is(eq, "{")) eq++;
    if (!is(eq, "=")) continue;
    size_t semi = eq;
    while (semi < t.size() && !is(semi, ";")) semi++;
    bool uses = false;
    for (size_t q = eq + 1; q < semi; q++)
      if ((t[q].kind == T_IDENT && fcRepl.count(txt(q))) || is(q, "is_function_constant_defined")) uses = true;
    if (!uses) continue;
    size_t nameTok = eq - 1;
    std::string type = range(i + 1, nameTok);
    std::string expr = exprWithFc(eq + 1, semi);
    fcRepl[txt(nameTok)] = "(static_cast<" + type + ">(" + expr + "))";
    replace(i, semi + 1, "");
    for (size_t q = i; q <= semi; q++) skip.insert(q);
  }
}

std::string Rewriter::exprWithFc(size_t a, size_t b) {
  std::string r;
  for (size_t q = a; q < b; q++) {
    if (is(q, "is_function_constant_defined") && is(q + 1, "(") && is(q + 3, ")")) {
      r += " " + fcDefined(txt(q + 2));
      q += 3;
      continue;
    }
    if (t[q].kind == T_IDENT && fcRepl.count(txt(q))) r += " " + fcRepl[txt(q)];
    else r += " " + txt(q);
  }
  return r;
}

std::string Rewriter::fcDefined(const std::string& name) {
  for (auto& c : res.constants)
    if (c.name == name) return "(::pmetal::rt::fc_defined(" + std::to_string(c.index) + "))";
  return "(true)";  // a derived constant is always defined
}

}  // namespace rw
}  // namespace host
}  // namespace pmetal
