// pmetal MSL host runtime: preprocessed MSL -> C++17 (see rewrite.h).
#include "rewrite.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

namespace pmetal {
namespace host {

namespace {

enum TokKind { T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT };

struct Tok {
  TokKind kind;
  size_t start, end;
  int line;
  int file;
};

struct Edit {
  size_t start, end;
  std::string text;
  bool blank;  // keep newlines of the replaced range
};

struct Lexer {
  const std::string& s;
  std::vector<Tok> toks;
  std::vector<std::string> files;
  Lexer(const std::string& src) : s(src) {}

  void run() {
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
        i++;
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
        i += 2;
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
};

static const std::set<std::string>& vecTypeNames() {
  static std::set<std::string> v;
  if (v.empty()) {
    const char* base[] = {"char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "half", "float", "bfloat", "bool"};
    for (auto b : base)
      for (int n = 2; n <= 4; n++) v.insert(std::string(b) + std::to_string(n));
  }
  return v;
}

struct Rewriter {
  const std::string& src;
  Lexer lx;
  std::vector<Tok>& t;
  std::vector<Edit> edits;
  RewriteResult res;
  std::vector<int> match;  // matching bracket index for ( [ { (and -1)
  std::vector<int> depthKind;  // per token: 1 if inside a function/class body (not only namespaces)
  std::map<std::string, std::string> fcRepl;  // identifier -> replacement expression
  std::vector<std::string> nsPath;            // per token namespace qualification (index into nsNames)
  std::vector<int> tokNs;
  std::vector<std::string> nsNames;
  int tgSite = 0;

  Rewriter(const std::string& s) : src(s), lx(s), t(lx.toks) {}

  std::string txt(size_t i) const { return src.substr(t[i].start, t[i].end - t[i].start); }
  bool is(size_t i, const char* v) const {
    if (i >= t.size()) return false;
    size_t len = strlen(v);
    return t[i].end - t[i].start == len && src.compare(t[i].start, len, v) == 0;
  }
  std::string where(size_t i) const {
    if (i >= t.size()) return "<eof>";
    return lx.files[t[i].file] + ":" + std::to_string(t[i].line);
  }
  std::string range(size_t a, size_t b) const {  // tokens [a, b) joined by spaces
    std::string r;
    for (size_t i = a; i < b; i++) {
      if (!r.empty()) r += ' ';
      r += txt(i);
    }
    return r;
  }
  void replace(size_t ta, size_t tb, const std::string& text) {  // tokens [ta, tb)
    edits.push_back({t[ta].start, t[tb - 1].end, text, true});
  }

  void computeStructure() {
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
        if (!stack.empty()) {
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
  }

  // ---- function constants
  void functionConstants() {
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
  std::string exprWithFc(size_t a, size_t b) {
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
  std::string fcDefined(const std::string& name) {
    for (auto& c : res.constants)
      if (c.name == name) return "(::pmetal::rt::fc_defined(" + std::to_string(c.index) + "))";
    return "(true)";  // a derived constant is always defined
  }

  std::set<size_t> skip;

  // ---- kernels
  bool parseParams(size_t open, std::vector<KernelParam>& out, const std::string& kname) {
    size_t close = (size_t)match[open];
    size_t a = open + 1;
    std::vector<std::pair<size_t, size_t>> parts;
    int depth = 0;
    for (size_t q = open + 1; q <= close; q++) {
      if (q == close || (depth == 0 && is(q, ","))) {
        if (q > a) parts.push_back({a, q});
        a = q + 1;
        continue;
      }
      if (is(q, "(") || is(q, "[") || is(q, "{") || is(q, "<")) depth++;
      if (is(q, ")") || is(q, "]") || is(q, "}") || is(q, ">")) depth--;
    }
    static const std::map<std::string, int> attrs = {
        {"thread_position_in_grid", PK_TPIG},          {"thread_position_in_threadgroup", PK_TPITG},
        {"threadgroup_position_in_grid", PK_TGPIG},    {"threads_per_threadgroup", PK_TPTG},
        {"threadgroups_per_grid", PK_TGPG},            {"thread_index_in_threadgroup", PK_TIITG},
        {"thread_index_in_simdgroup", PK_TIISG},       {"simdgroup_index_in_threadgroup", PK_SGIITG},
        {"threads_per_simdgroup", PK_TPSG},            {"simdgroups_per_threadgroup", PK_SGPTG},
        {"thread_execution_width", PK_TEW},            {"threads_per_grid", PK_TPG},
        {"dispatch_threads_per_threadgroup", PK_TPTG}, {"thread_index_in_quadgroup", PK_TIISG},
    };
    std::set<int> usedBuf;
    std::vector<size_t> unbound;
    for (auto& p : parts) {
      KernelParam kp;
      kp.text = range(p.first, p.second);
      size_t attrAt = std::string::npos;
      for (size_t q = p.first; q + 1 < p.second; q++)
        if (is(q, "[") && is(q + 1, "[")) {
          attrAt = q;
          break;
        }
      size_t nameEnd = attrAt == std::string::npos ? p.second : attrAt;
      if (nameEnd > p.first && t[nameEnd - 1].kind == T_IDENT) kp.name = txt(nameEnd - 1);
      if (attrAt != std::string::npos) {
        for (size_t q = attrAt; q < p.second; q++)
          if (is(q, "function_constant")) kp.optional = true;
        std::string an = txt(attrAt + 2);
        if (an == "buffer" || an == "threadgroup") {
          kp.kind = an == "buffer" ? PK_BUFFER : PK_THREADGROUP;
          kp.index = atoi(txt(attrAt + 4).c_str());
          if (kp.kind == PK_BUFFER) usedBuf.insert(kp.index);
        } else if (attrs.count(an)) {
          kp.kind = attrs.at(an);
        } else {
          res.error = where(attrAt) + ": kernel '" + kname + "': parameter attribute [[" + an +
                      "]] is not supported by the host runtime";
          return false;
        }
      } else {
        unbound.push_back(out.size());
      }
      out.push_back(kp);
    }
    // parameters without an attribute get the lowest free buffer indices, in order
    int next = 0;
    for (size_t u : unbound) {
      while (usedBuf.count(next)) next++;
      out[u].kind = PK_BUFFER;
      out[u].index = next;
      usedBuf.insert(next);
    }
    return true;
  }

  struct KDef {
    std::string name;
    std::vector<KernelParam> params;
    int maxThreads = 1024;
    bool isTemplate = false;
  };
  std::map<std::string, KDef> defs;

  static std::string sanitize(const std::string& n) {
    std::string r = "__pmetal_k_";
    for (unsigned char c : n) {
      if (isalnum(c)) r += (char)c;
      else {
        char b[8];
        snprintf(b, sizeof b, "_%02x", c);
        r += b;
      }
    }
    return r;
  }

  void kernels() {
    struct Inst {
      std::string host, name, targs;
      size_t tok;
      std::vector<KernelParam> params;
      bool hasParams = false;
    };
    std::vector<Inst> insts;
    for (size_t i = 0; i < t.size(); i++) {
      if (!is(i, "kernel") || skip.count(i)) continue;
      if (i > 0 && (is(i - 1, ".") || is(i - 1, "->") || is(i - 1, "::"))) continue;
      // statement start
      size_t s = i;
      while (s > 0) {
        size_t p = s - 1;
        if (is(p, ";") || is(p, "{") || is(p, "}")) break;
        if (is(p, "]") && match[p] >= 0) {
          s = (size_t)match[p];
          continue;
        }
        if (is(p, ")") && match[p] >= 0) {
          s = (size_t)match[p];
          continue;
        }
        s = p;
      }
      bool isTemplate = is(s, "template") && is(s + 1, "<");
      bool isInst = is(s, "template") && !is(s + 1, "<");
      std::string host;
      int maxThreads = 1024;
      for (size_t q = s; q < i; q++) {
        if (is(q, "host_name") && is(q + 1, "(")) host = txt(q + 2).substr(1, t[q + 2].end - t[q + 2].start - 2);
        if (is(q, "max_total_threads_per_threadgroup") && is(q + 1, "(")) maxThreads = atoi(txt(q + 2).c_str());
      }
      // forward: skip ]] and attributes
      size_t q = i + 1;
      for (;;) {
        if (is(q, "]") && is(q + 1, "]")) {
          q += 2;
          continue;
        }
        if (is(q, "[") && is(q + 1, "[") && match[q] >= 0) {
          for (size_t z = q; z < (size_t)match[q]; z++)
            if (is(z, "max_total_threads_per_threadgroup") && is(z + 1, "(")) maxThreads = atoi(txt(z + 2).c_str());
          q = (size_t)match[q] + 1;
          continue;
        }
        break;
      }
      if (is(q, "decltype") && is(q + 1, "(") && match[q + 1] >= 0) {
        q = (size_t)match[q + 1] + 1;
      } else if (is(q, "void")) {
        q++;
      } else {
        res.error = where(i) + ": kernel functions must return void";
        return;
      }
      if (t[q].kind != T_IDENT) {
        res.error = where(q) + ": expected the kernel's name";
        return;
      }
      std::string name = txt(q);
      size_t nameTok = q;
      q++;
      std::string targs;
      if (is(q, "<")) {
        int d = 0;
        size_t a = q;
        for (; q < t.size(); q++) {
          if (is(q, "<")) d++;
          if (is(q, ">")) {
            d--;
            if (d == 0) break;
          }
        }
        targs = range(a, q + 1);
        q++;
      }
      kernelNameToks.insert(nameTok);
      if (isInst) {
        Inst in;
        in.host = host.empty() ? name : host;
        in.name = name;
        in.targs = targs;
        in.tok = i;
        if (is(q, "(")) {
          in.hasParams = true;
          if (!parseParams(q, in.params, in.host)) return;
        }
        insts.push_back(in);
        size_t semi = q;
        while (semi < t.size() && !is(semi, ";")) semi++;
        replace(s, semi + 1, "");
        for (size_t z = s; z <= semi; z++) skip.insert(z);
        continue;
      }
      if (!is(q, "(")) {
        res.error = where(q) + ": expected the kernel's parameter list";
        return;
      }
      KDef d;
      d.name = name;
      d.isTemplate = isTemplate;
      d.maxThreads = maxThreads;
      if (!parseParams(q, d.params, name)) return;
      std::string qual = nsNames[tokNs[i]];
      std::string full = qual.empty() ? name : qual + "::" + name;
      size_t after = (size_t)match[q] + 1;
      bool isDef = is(after, "{");
      if (!isTemplate && isDef) {
        KernelInfo k;
        k.hostName = name;
        k.function = "::" + full;
        k.file = lx.files[t[i].file];
        k.line = t[i].line;
        k.maxThreads = maxThreads;
        k.params = d.params;
        k.symbol = sanitize(k.hostName);
        res.kernels.push_back(k);
      }
      defs[name] = d;
      defs[name].name = full;
    }
    for (auto& in : insts) {
      KernelInfo k;
      k.hostName = in.host;
      auto it = defs.find(in.name);
      if (it != defs.end()) {
        k.params = it->second.params;
        k.maxThreads = it->second.maxThreads;
        k.function = "::" + it->second.name + in.targs;
      } else {
        k.function = in.name + in.targs;
      }
      if (in.hasParams && (it == defs.end() || k.params.empty())) k.params = in.params;
      k.file = lx.files[t[in.tok].file];
      k.line = t[in.tok].line;
      k.symbol = sanitize(k.hostName);
      res.kernels.push_back(k);
    }
  }
  std::set<size_t> kernelNameToks;

  // ---- token-level rewrites
  void tokens() {
    const auto& vt = vecTypeNames();
    for (size_t i = 0; i < t.size(); i++) {
      if (skip.count(i)) continue;
      const Tok& k = t[i];
      if (k.kind == T_NUMBER) {
        std::string n = txt(i);
        char last = n.back();
        if ((last == 'h' || last == 'H') && !(n.size() > 1 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X'))) {
          std::string v = n.substr(0, n.size() - 1);
          edits.push_back({k.start, k.end, "((half)" + v + ")", false});
        }
        continue;
      }
      if (k.kind != T_IDENT) continue;
      std::string w = txt(i);
      bool member = i > 0 && (is(i - 1, ".") || is(i - 1, "->"));
      if (member) continue;
      if (w == "device" || w == "thread" || w == "kernel") {
        if (i > 0 && is(i - 1, "::")) continue;
        edits.push_back({k.start, k.end, "", false});
        continue;
      }
      if (w == "constant") {
        edits.push_back({k.start, k.end, "const", false});
        continue;
      }
      if (w == "threadgroup") {
        if (is(i + 1, "(")) continue;  // [[threadgroup(n)]]
        if (depthKind[i] && i > 0 && (is(i - 1, "{") || is(i - 1, "}") || is(i - 1, ";") || is(i - 1, ":"))) {
          if (threadgroupLocal(i)) continue;
        }
        edits.push_back({k.start, k.end, "", false});
        continue;
      }
      if (w == "__pmetal_uses_mpp") {
        res.usesMpp = true;
        continue;
      }
      if (w == "is_function_constant_defined" && is(i + 1, "(") && is(i + 3, ")")) {
        edits.push_back({k.start, t[i + 3].end, fcDefined(txt(i + 2)), false});
        i += 3;
        continue;
      }
      if (fcRepl.count(w) && !(i > 0 && is(i - 1, "::"))) {
        edits.push_back({k.start, k.end, fcRepl[w], false});
        continue;
      }
      if (vt.count(w) && is(i + 1, "(")) {
        if (i > 0 && is(i - 1, "operator")) continue;
        size_t st = k.start;
        if (i >= 2 && is(i - 1, "::") && is(i - 2, "metal")) st = t[i - 2].start;
        else if (i >= 1 && is(i - 1, "::")) st = t[i - 1].start;
        edits.push_back({st, k.end, "::metal::__pm_make<::" + w + ">", false});
        continue;
      }
      if (w == "vec" && is(i + 1, "<")) {
        int d = 0;
        size_t q = i + 1;
        for (; q < t.size(); q++) {
          if (is(q, "<")) d++;
          if (is(q, ">") && --d == 0) break;
        }
        if (is(q + 1, "(")) {
          size_t st = k.start;
          if (i >= 2 && is(i - 1, "::") && is(i - 2, "metal")) st = t[i - 2].start;
          edits.push_back({st, t[q].end, "::metal::__pm_make<::metal::vec" + src.substr(t[i + 1].start, t[q].end - t[i + 1].start) + ">", false});
          i = q;
        }
        continue;
      }
    }
  }

  // `threadgroup T a[N], b;` inside a function body -> references into the threadgroup arena
  bool threadgroupLocal(size_t i) {
    size_t semi = i + 1;
    int d = 0;
    for (; semi < t.size(); semi++) {
      if (is(semi, "(") || is(semi, "[")) d++;
      if (is(semi, ")") || is(semi, "]")) d--;
      if (d == 0 && is(semi, ";")) break;
      if (d == 0 && (is(semi, "*") || is(semi, "&") || is(semi, "=") || is(semi, "(") || is(semi, "{"))) return false;
    }
    if (semi >= t.size()) return false;
    // split declarators
    std::vector<std::pair<size_t, size_t>> decls;
    size_t a = i + 1;
    d = 0;
    for (size_t q = i + 1; q <= semi; q++) {
      if (is(q, "[") || is(q, "(") || is(q, "<")) d++;
      if (is(q, "]") || is(q, ")") || is(q, ">")) d--;
      if (q == semi || (d == 0 && is(q, ","))) {
        decls.push_back({a, q});
        a = q + 1;
      }
    }
    // first declarator: TYPE NAME DIMS
    size_t f0 = decls[0].first, f1 = decls[0].second;
    size_t br = f1;
    for (size_t q = f0; q < f1; q++)
      if (is(q, "[")) {
        br = q;
        break;
      }
    if (br == f0 || t[br - 1].kind != T_IDENT) return false;
    size_t nameTok = br - 1;
    std::string type = rewriteRange(f0, nameTok);
    std::string out;
    for (size_t di = 0; di < decls.size(); di++) {
      size_t n0 = di == 0 ? nameTok : decls[di].first;
      size_t n1 = decls[di].second;
      std::string name = txt(n0);
      std::string dims = rewriteRange(n0 + 1, n1);
      out += "auto& " + name + " = ::pmetal::rt::tg<" + type + " " + dims + ">(" + std::to_string(tgSite++) + ", \"" +
             name + "\", " + std::to_string(t[n0].line) + "); ";
    }
    replace(i, semi + 1, out);
    for (size_t q = i; q <= semi; q++) skip.insert(q);
    return true;
  }
  // a token range as text with the simple token rewrites applied (types and dimensions)
  std::string rewriteRange(size_t a, size_t b) {
    std::string r;
    for (size_t q = a; q < b; q++) {
      std::string w = txt(q);
      if (w == "device" || w == "thread" || w == "threadgroup") continue;
      if (w == "constant") w = "const";
      else if (t[q].kind == T_IDENT && fcRepl.count(w)) w = fcRepl[w];
      if (!r.empty()) r += ' ';
      r += w;
    }
    return r;
  }

  std::string apply() {
    std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
      if (a.start != b.start) return a.start < b.start;
      return a.end > b.end;
    });
    std::string out;
    out.reserve(src.size() + 4096);
    size_t cur = 0;
    for (auto& e : edits) {
      if (e.start < cur) continue;  // inside an earlier (larger) edit
      out.append(src, cur, e.start - cur);
      out += e.text;
      // keep the line structure of the replaced text
      for (size_t k = e.start; k < e.end; k++)
        if (src[k] == '\n') out += '\n';
      cur = e.end;
    }
    out.append(src, cur, std::string::npos);
    return out;
  }

  void run() {
    lx.run();
    computeStructure();
    functionConstants();
    if (!res.error.empty()) return;
    kernels();
    if (!res.error.empty()) return;
    tokens();
    std::string body = apply();
    std::string pre = "#include <metal_stdlib>\n";
    if (res.usesMpp) pre += "#include <MetalPerformancePrimitives/MetalPerformancePrimitives.h>\n";
    std::string tramp = "\n#line 1 \"<pmetal-trampolines>\"\n";
    int n = 0;
    for (auto& k : res.kernels) {
      tramp += "static const ::pmetal::rt::ParamSpec __pm_spec_" + std::to_string(n) + "[] = {";
      for (auto& p : k.params) tramp += "{" + std::to_string(p.kind) + ", " + std::to_string(p.index) + "}, ";
      tramp += "{0, 0}};\n";
      tramp += "extern \"C\" __attribute__((visibility(\"default\"))) void " + k.symbol + "() { ::pmetal::rt::invoke(&" +
               k.function + ", __pm_spec_" + std::to_string(n) + "); }\n";
      n++;
    }
    res.cpp = pre + body + tramp;
  }
};

}  // namespace

RewriteResult rewriteMsl(const std::string& preprocessed) {
  Rewriter r(preprocessed);
  r.run();
  return std::move(r.res);
}

}  // namespace host
}  // namespace pmetal
