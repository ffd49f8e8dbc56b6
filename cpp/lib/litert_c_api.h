// Minimal declarations of the LiteRT C API exported by libLiteRt.so from the
// ai-edge-litert 2.3.0 wheels (which ship no headers). Only what the ckpt2cpp
// library (lib/litert_model.cpp) uses. Every function returns a LiteRtStatus
// (0 = ok) unless declared void. Layouts are those of LP64 Linux (x86-64 and
// aarch64 alike) and checked with static_asserts.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

using LiteRtStatus = int;
constexpr LiteRtStatus kLiteRtStatusOk = 0;

using LiteRtEnvironment = struct LiteRtEnvironmentT*;
using LiteRtModel = struct LiteRtModelT*;
using LiteRtSignature = struct LiteRtSignatureT*;
using LiteRtTensor = struct LiteRtTensorT*;
using LiteRtOptions = struct LiteRtOptionsT*;
using LiteRtOpaqueOptions = struct LiteRtOpaqueOptionsT*;
using LiteRtCompiledModel = struct LiteRtCompiledModelT*;
using LiteRtTensorBuffer = struct LiteRtTensorBufferT*;
using LiteRtTensorBufferRequirements = struct LiteRtTensorBufferRequirementsT*;
using LiteRtProfiler = struct LiteRtProfilerT*;

// Element types (same numbering as TfLiteType).
enum : int {
  kLiteRtElementTypeFloat32 = 1,
  kLiteRtElementTypeInt32 = 2,
  kLiteRtElementTypeUInt8 = 3,
  kLiteRtElementTypeInt64 = 4,
  kLiteRtElementTypeBool = 6,
  kLiteRtElementTypeInt16 = 7,
  kLiteRtElementTypeInt8 = 9,
  kLiteRtElementTypeFloat16 = 10,
  kLiteRtElementTypeFloat64 = 11,
};

constexpr int kLiteRtHwAcceleratorCpu = 1;
constexpr int kLiteRtTensorBufferLockModeRead = 0;
constexpr int kLiteRtTensorBufferLockModeWrite = 1;

struct LiteRtLayout {
  unsigned int rank : 7;
  unsigned int has_strides : 1;
  std::int32_t dimensions[8];  // -1 = dynamic
  std::uint32_t strides[8];
};
static_assert(sizeof(LiteRtLayout) == 68);
static_assert(offsetof(LiteRtLayout, dimensions) == 4);
static_assert(offsetof(LiteRtLayout, strides) == 36);

struct LiteRtRankedTensorType {
  int element_type;
  LiteRtLayout layout;
};
static_assert(sizeof(LiteRtRankedTensorType) == 72);
static_assert(offsetof(LiteRtRankedTensorType, layout) == 4);

struct LiteRtQuantizationPerTensor {
  float scale;
  std::int64_t zero_point;
};
static_assert(sizeof(LiteRtQuantizationPerTensor) == 16);
static_assert(offsetof(LiteRtQuantizationPerTensor, zero_point) == 8);

struct LiteRtAny {
  int type;
  union {
    bool bool_value;
    std::int64_t int_value;
    double real_value;
    const char* str_value;
    const void* ptr_value;
  };
};
static_assert(sizeof(LiteRtAny) == 16);

struct LiteRtEnvOption {
  int tag;
  LiteRtAny value;
};
static_assert(sizeof(LiteRtEnvOption) == 24);
static_assert(offsetof(LiteRtEnvOption, value) == 8);

LiteRtStatus LiteRtCreateEnvironment(int num_options, const LiteRtEnvOption* options, LiteRtEnvironment* env);
void LiteRtDestroyEnvironment(LiteRtEnvironment env);

LiteRtStatus LiteRtCreateModelFromFile(LiteRtEnvironment env, const char* path, LiteRtModel* model);
void LiteRtDestroyModel(LiteRtModel model);

LiteRtStatus LiteRtGetNumModelSignatures(LiteRtModel model, std::size_t* num);
LiteRtStatus LiteRtGetModelSignature(LiteRtModel model, std::size_t index, LiteRtSignature* signature);
LiteRtStatus LiteRtGetNumSignatureInputs(LiteRtSignature signature, std::size_t* num);
LiteRtStatus LiteRtGetNumSignatureOutputs(LiteRtSignature signature, std::size_t* num);
LiteRtStatus LiteRtGetSignatureInputName(LiteRtSignature signature, std::size_t index, const char** name);
LiteRtStatus LiteRtGetSignatureOutputName(LiteRtSignature signature, std::size_t index, const char** name);
LiteRtStatus LiteRtGetSignatureInputTensorByIndex(LiteRtSignature signature, std::size_t index, LiteRtTensor* tensor);
LiteRtStatus LiteRtGetSignatureOutputTensorByIndex(LiteRtSignature signature, std::size_t index, LiteRtTensor* tensor);

LiteRtStatus LiteRtGetRankedTensorType(LiteRtTensor tensor, LiteRtRankedTensorType* type);
// Fails (status != 0) unless the tensor has per-tensor quantization.
LiteRtStatus LiteRtGetPerTensorQuantization(LiteRtTensor tensor, LiteRtQuantizationPerTensor* q);

LiteRtStatus LiteRtCreateOptions(LiteRtOptions* options);
void LiteRtDestroyOptions(LiteRtOptions options);
LiteRtStatus LiteRtSetOptionsHardwareAccelerators(LiteRtOptions options, int accelerators);
// Takes ownership of `opaque` on success.
LiteRtStatus LiteRtAddOpaqueOptions(LiteRtOptions options, LiteRtOpaqueOptions opaque);

// A typed payload attached to LiteRtOptions; the CPU accelerator reads a
// TOML string such as "num_threads = 2\n" under identifier "xnnpack".
LiteRtStatus LiteRtCreateOpaqueOptions(const char* identifier, void* payload, void (*payload_destructor)(void*),
                                       LiteRtOpaqueOptions* opaque);
void LiteRtDestroyOpaqueOptions(LiteRtOpaqueOptions opaque);

LiteRtStatus LiteRtCreateCompiledModel(LiteRtEnvironment env, LiteRtModel model, LiteRtOptions options,
                                       LiteRtCompiledModel* compiled);
void LiteRtDestroyCompiledModel(LiteRtCompiledModel compiled);
// The requirements stay owned by the compiled model.
LiteRtStatus LiteRtGetCompiledModelInputBufferRequirements(LiteRtCompiledModel compiled, std::size_t signature,
                                                           std::size_t index, LiteRtTensorBufferRequirements* req);
LiteRtStatus LiteRtGetCompiledModelOutputBufferRequirements(LiteRtCompiledModel compiled, std::size_t signature,
                                                            std::size_t index, LiteRtTensorBufferRequirements* req);
LiteRtStatus LiteRtRunCompiledModel(LiteRtCompiledModel compiled, std::size_t signature, std::size_t num_inputs,
                                    LiteRtTensorBuffer* inputs, std::size_t num_outputs, LiteRtTensorBuffer* outputs);

LiteRtStatus LiteRtCreateManagedTensorBufferFromRequirements(LiteRtEnvironment env,
                                                             const LiteRtRankedTensorType* type,
                                                             LiteRtTensorBufferRequirements req,
                                                             LiteRtTensorBuffer* buffer);
LiteRtStatus LiteRtGetTensorBufferSize(LiteRtTensorBuffer buffer, std::size_t* size);
LiteRtStatus LiteRtLockTensorBuffer(LiteRtTensorBuffer buffer, void** host_addr, int lock_mode);
LiteRtStatus LiteRtUnlockTensorBuffer(LiteRtTensorBuffer buffer);
void LiteRtDestroyTensorBuffer(LiteRtTensorBuffer buffer);

// Per-op profiling (litert/c/litert_profiler.h, litert_profiler_event.h). The compiled
// model has a profiler only if its options carry "enable_profiling = true\n" under the
// opaque-options identifier "runtime_options_string".
enum : int {
  kLiteRtProfilerEventDefault = 1,
  kLiteRtProfilerEventOperator = 1 << 1,
  kLiteRtProfilerEventDelegateOperator = 1 << 2,
  kLiteRtProfilerEventDelegateProfiledOperator = 1 << 3,
};

struct LiteRtMemoryUsage {
  std::size_t total_allocated_bytes, in_use_allocated_bytes, private_footprint_bytes;
};

struct ProfiledEventData {
  const char* tag;  // owned by the profiler
  int event_type;   // one of the kLiteRtProfilerEvent* bits
  std::uint64_t start_timestamp_us;
  std::uint64_t elapsed_time_us;
  LiteRtMemoryUsage begin_mem_usage;
  LiteRtMemoryUsage end_mem_usage;
  std::uint64_t event_metadata1;  // operator events: the node index
  std::uint64_t event_metadata2;
  int event_source;
};
static_assert(sizeof(ProfiledEventData) == 104, "ProfiledEventData layout");
static_assert(offsetof(ProfiledEventData, elapsed_time_us) == 24, "ProfiledEventData layout");
static_assert(offsetof(ProfiledEventData, event_metadata1) == 80, "ProfiledEventData layout");

LiteRtStatus LiteRtCompiledModelGetProfiler(LiteRtCompiledModel compiled, LiteRtProfiler* profiler);
LiteRtStatus LiteRtStartProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtStopProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtResetProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtGetNumProfilerEvents(LiteRtProfiler profiler, int* num_events);
LiteRtStatus LiteRtGetProfilerEvents(LiteRtProfiler profiler, int num_events, ProfiledEventData* events);

}  // extern "C"
