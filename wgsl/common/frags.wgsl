// A loop unrolled by the preprocessor: FRAG (a file path) pasted once per F = 0 .. N−1
// (N ≤ 16), so every subgroup-matrix variable and offset it names is a constant — named
// fragments instead of arrays indexed at run time, offsets Dawn's robustness can bound.
// Include with (FRAG=dir/file.wgsl, N=count).
#include "FRAG" (F=0)
#if N > 1
#include "FRAG" (F=1)
#endif
#if N > 2
#include "FRAG" (F=2)
#endif
#if N > 3
#include "FRAG" (F=3)
#endif
#if N > 4
#include "FRAG" (F=4)
#endif
#if N > 5
#include "FRAG" (F=5)
#endif
#if N > 6
#include "FRAG" (F=6)
#endif
#if N > 7
#include "FRAG" (F=7)
#endif
#if N > 8
#include "FRAG" (F=8)
#endif
#if N > 9
#include "FRAG" (F=9)
#endif
#if N > 10
#include "FRAG" (F=10)
#endif
#if N > 11
#include "FRAG" (F=11)
#endif
#if N > 12
#include "FRAG" (F=12)
#endif
#if N > 13
#include "FRAG" (F=13)
#endif
#if N > 14
#include "FRAG" (F=14)
#endif
#if N > 15
#include "FRAG" (F=15)
#endif
