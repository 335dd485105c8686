// common/frags.wgsl for an outer loop: FRAGJ pasted once per J = 0 .. NJ−1 (NJ ≤ 4), so a
// body can nest common/frags.wgsl (F) inside it. Include with (FRAGJ=dir/file.wgsl, NJ=count).
#include "FRAGJ" (J=0)
#if NJ > 1
#include "FRAGJ" (J=1)
#endif
#if NJ > 2
#include "FRAGJ" (J=2)
#endif
#if NJ > 3
#include "FRAGJ" (J=3)
#endif
