// pmetal MSL host runtime, rewrite step: kernels — their names (host_name of template
// instantiations too), [[max_total_threads_per_threadgroup]], and every parameter's binding
// (buffer, threadgroup memory or a thread-position attribute), for the trampolines.
#include "host/rewrite/rewriter.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace pmetal {
namespace host {
namespace rw {

// ---- kernels
bool Rewriter::parseParams(size_t open, std::vector<KernelParam>& out, const std::string& kname) {
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

std::string Rewriter::sanitize(const std::string& n) {
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

void Rewriter::kernels() {
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
    if (q >= t.size() || t[q].kind != T_IDENT) {
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

}  // namespace rw
}  // namespace host
}  // namespace pmetal
