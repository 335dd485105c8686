// The per-row register slots of qgemv_rows.wgsl: the slot file once per row I < MT.
#include "quant/qgemv_rows_slot.wgsl" (I=0)
#if MT > 1
#include "quant/qgemv_rows_slot.wgsl" (I=1)
#endif
#if MT > 2
#include "quant/qgemv_rows_slot.wgsl" (I=2)
#endif
#if MT > 3
#include "quant/qgemv_rows_slot.wgsl" (I=3)
#endif
#if MT > 4
#include "quant/qgemv_rows_slot.wgsl" (I=4)
#endif
#if MT > 5
#include "quant/qgemv_rows_slot.wgsl" (I=5)
#endif
#if MT > 6
#include "quant/qgemv_rows_slot.wgsl" (I=6)
#endif
#if MT > 7
#include "quant/qgemv_rows_slot.wgsl" (I=7)
#endif
#if MT > 8
#include "quant/qgemv_rows_slot.wgsl" (I=8)
#endif
#if MT > 9
#include "quant/qgemv_rows_slot.wgsl" (I=9)
#endif
#if MT > 10
#include "quant/qgemv_rows_slot.wgsl" (I=10)
#endif
#if MT > 11
#include "quant/qgemv_rows_slot.wgsl" (I=11)
#endif
#if MT > 12
#include "quant/qgemv_rows_slot.wgsl" (I=12)
#endif
#if MT > 13
#include "quant/qgemv_rows_slot.wgsl" (I=13)
#endif
#if MT > 14
#include "quant/qgemv_rows_slot.wgsl" (I=14)
#endif
#if MT > 15
#include "quant/qgemv_rows_slot.wgsl" (I=15)
#endif
