// pmetal native addon: a JS dispatch list ({ pipeline, buffers, bytes, threadgroupMemory,
// grid, threadgroup }[]) read into pmetal::Dispatch values.
#pragma once
#include <napi.h>

#include <vector>

#include "addon/backend.h"

namespace pmetal {
namespace addon {

std::vector<Dispatch> readDispatches(Napi::Env env, Napi::Value list);

}  // namespace addon
}  // namespace pmetal
