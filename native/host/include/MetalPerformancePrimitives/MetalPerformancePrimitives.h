// pmetal stand-in for <MetalPerformancePrimitives/MetalPerformancePrimitives.h>: the subset of
// Metal 4 tensor ops the host runtime implements (an independent implementation; semantics
// from Apple's documentation and the publicly readable MPPTensorOpsMatMul2d.h):
//
//   mpp::tensor_ops::matmul2d_descriptor(m, n, k = dynamic, transpose_left, transpose_right,
//                                        relaxed_precision, mode = multiply)
//   mpp::tensor_ops::matmul2d<descriptor, scope>   (scope: execution_thread,
//       execution_simdgroup, execution_simdgroups<N>)
//     .run(left, right, destination)   left/right: tensors; destination: tensor or
//                                      cooperative_tensor
//     .get_destination_cooperative_tensor<LeftTensor, RightTensor, ElementType>()
//   metal::cooperative_tensor: get_capacity(), is_valid_element(i), operator[](i),
//     get_multidimensional_index(i), load(tensor), store(tensor), begin()/end()
//
// Conventions (as in Apple's headers): tensor extents are listed innermost dimension first,
// so a row-major M x K matrix A is a tensor with extents (K, M) and A[x, y] is column x of
// row y. destination (m x n tile) = left (m x k) * right (k x n), + destination in
// multiply_accumulate mode. transpose_left means left is stored K x M (extents (M, K));
// transpose_right means right is stored N x K (extents (K, N)). k = dynamic_extent takes K
// from the tensors. Elements outside a tensor's extents read as zero and are not written.
//
// Work split: the threads of the op's scope divide the m x n destination elements among
// themselves (element e = row * n + col belongs to rank e % threads, rank = index within the
// scope); each computes its own elements, so no rendezvous is needed and every thread of the
// scope must call run() (as on the GPU). Products accumulate in float (int32 for integer
// inputs); relaxed_precision is accepted and ignored.
#pragma once
#include <metal_stdlib>
#include <metal_tensor>

namespace metal {

template <class T> struct __coop_acc { using type = float; };
template <> struct __coop_acc<int> { using type = int; };

template <class ElementType, int M, int N, int Threads, int ScopeKind>
struct cooperative_tensor {
  static constexpr int __cap = (M * N + Threads - 1) / Threads;
  ElementType __v[__cap > 0 ? __cap : 1];
  int __rank = 0;
  using value_type = ElementType;

  static int __scope_rank() {
    ::pmetal::rt::ThreadInfo* t = ::pmetal::rt::cur_thread();
    if (ScopeKind == 0) return 0;
    if (ScopeKind == 1) return (int)t->tiisg;
    return (int)t->tiitg;
  }
  cooperative_tensor() : __rank(__scope_rank()) {
    for (int i = 0; i < __cap; i++) __v[i] = ElementType(0);
  }
  static constexpr uint16_t get_capacity() { return (uint16_t)__cap; }
  int __elem(int i) const { return __rank + i * Threads; }
  // Apple's spelling (the MPPTensorOpsMatMul2d.h examples): whether slot i holds an element of the tile.
  bool is_valid_element(int i) const { return i >= 0 && i < __cap && __elem(i) < M * N; }
  ElementType& operator[](int i) { return __v[i]; }
  const ElementType& operator[](int i) const { return __v[i]; }
  // (column, row) of element i in the destination tile: innermost first
  array<int, 2> get_multidimensional_index(int i) const {
    int e = __elem(i);
    return array<int, 2>{{e % N, e / N}};
  }
  ElementType* begin() { return __v; }
  ElementType* end() { return __v + __cap; }

  template <class E, class X, class L> void load(const tensor<E, X, L>& t) {
    for (int i = 0; i < __cap; i++) {
      if (!is_valid_element(i)) continue;
      auto ix = get_multidimensional_index(i);
      typename tensor<E, X, L>::index_type p[2] = {ix[0], ix[1]};
      E* q = t.__at(p);
      __v[i] = q ? ElementType(*q) : ElementType(0);
    }
  }
  template <class E, class X, class L> void store(const tensor<E, X, L>& t) const {
    for (int i = 0; i < __cap; i++) {
      if (!is_valid_element(i)) continue;
      auto ix = get_multidimensional_index(i);
      typename tensor<E, X, L>::index_type p[2] = {ix[0], ix[1]};
      E* q = t.__at(p);
      if (q) *q = (std::remove_cv_t<E>)__v[i];
    }
  }
};

}  // namespace metal

namespace mpp {
namespace tensor_ops {

enum class reduction_operation { sum, max, min };

struct matmul2d_descriptor {
  enum class mode { multiply, multiply_accumulate };
  int m, n, k;
  bool transpose_left, transpose_right;
  bool relaxed_precision;
  mode matmul_mode;
  constexpr matmul2d_descriptor(int __m, int __n, int __k = static_cast<int>(metal::dynamic_extent),
                                bool __tl = false, bool __tr = false, bool __relaxed = false,
                                mode __mode = mode::multiply)
      : m(__m), n(__n), k(__k), transpose_left(__tl), transpose_right(__tr), relaxed_precision(__relaxed),
        matmul_mode(__mode) {}
};

template <class Scope> struct __scope_info;
template <> struct __scope_info<metal::execution_thread> {
  static constexpr int threads = 1, kind = 0;
};
template <> struct __scope_info<metal::execution_simdgroup> {
  static constexpr int threads = 32, kind = 1;
};
template <int N> struct __scope_info<metal::execution_simdgroups<N>> {
  static constexpr int threads = 32 * N, kind = 2;
};

template <matmul2d_descriptor D, class Scope, class... Args>
class matmul2d {
  using SI = __scope_info<Scope>;

 public:
  static constexpr matmul2d_descriptor descriptor = D;
  using scope = Scope;
  matmul2d() = default;

  template <class L, class R, class ElementType, class CoordType = int, class... CoopArgs>
  using cooperative_tensor_destination_t = metal::cooperative_tensor<ElementType, D.m, D.n, SI::threads, SI::kind>;

  template <class L, class R, class ElementType, class CoordType = int, class... CoopArgs>
  cooperative_tensor_destination_t<L, R, ElementType> get_destination_cooperative_tensor() const {
    return cooperative_tensor_destination_t<L, R, ElementType>();
  }

  // left(i, kk) of the m x k tile, as float/int (zero outside the tensor)
  template <class T> static auto __left(const T& a, int i, int kk) {
    typename T::index_type p[2];
    if (D.transpose_left) { p[0] = i; p[1] = kk; }
    else { p[0] = kk; p[1] = i; }
    auto* q = a.__at(p);
    using V = typename T::value_type;
    return q ? (typename metal::__coop_acc<std::conditional_t<std::is_integral<V>::value, int, float>>::type)(*q) : 0;
  }
  template <class T> static auto __right(const T& b, int kk, int j) {
    typename T::index_type p[2];
    if (D.transpose_right) { p[0] = kk; p[1] = j; }
    else { p[0] = j; p[1] = kk; }
    auto* q = b.__at(p);
    using V = typename T::value_type;
    return q ? (typename metal::__coop_acc<std::conditional_t<std::is_integral<V>::value, int, float>>::type)(*q) : 0;
  }
  template <class A, class B> static int __k(const A& a, const B& b) {
    int ka = (int)(D.transpose_left ? a.get_extent(1) : a.get_extent(0));
    int kb = (int)(D.transpose_right ? b.get_extent(0) : b.get_extent(1));
    int k = ka < kb ? ka : kb;
    if (D.k > 0 && D.k < k) k = D.k;  // k <= 0 (or dynamic_extent) reads K from the tensors
    return k;
  }
  template <class A, class B> static auto __dot(const A& a, const B& b, int i, int j, int K) {
    using VA = typename A::value_type;
    using VB = typename B::value_type;
    using Acc = std::conditional_t<std::is_integral<VA>::value && std::is_integral<VB>::value, int, float>;
    Acc s = 0;
    for (int kk = 0; kk < K; kk++) s += (Acc)__left(a, i, kk) * (Acc)__right(b, kk, j);
    return s;
  }

  template <class A, class B, class C, std::enable_if_t<metal::__is_tensor<C>::value, int> = 0>
  void run(const A& a, const B& b, const C& c) const {
    const int rank = metal::cooperative_tensor<float, 1, 1, SI::threads, SI::kind>::__scope_rank();
    const int K = __k(a, b);
    for (int e = rank; e < D.m * D.n; e += SI::threads) {
      int i = e / D.n, j = e % D.n;
      typename C::index_type p[2] = {j, i};
      auto* q = c.__at(p);
      if (!q) continue;
      auto s = __dot(a, b, i, j, K);
      using V = std::remove_cv_t<typename C::element_type>;
      if (D.matmul_mode == matmul2d_descriptor::mode::multiply_accumulate) *q = (V)((float)*q + (float)s);
      else *q = (V)s;
    }
  }
  template <class A, class B, class E, int M_, int N_, int T_, int K_>
  void run(const A& a, const B& b, metal::cooperative_tensor<E, M_, N_, T_, K_>& c) const {
    const int K = __k(a, b);
    for (int i = 0; i < c.get_capacity(); i++) {
      if (!c.is_valid_element(i)) continue;
      auto ix = c.get_multidimensional_index(i);
      auto s = __dot(a, b, ix[1], ix[0], K);
      if (D.matmul_mode == matmul2d_descriptor::mode::multiply_accumulate) c[i] = (E)((float)c[i] + (float)s);
      else c[i] = (E)s;
    }
  }
};

}  // namespace tensor_ops
}  // namespace mpp
