# find_package(ckpt2cpp CONFIG) for a ckpt2cpp deploy bundle: one imported target,
# ckpt2cpp::ckpt2cpp (the C++17 API in include/, lib/libckpt2cpp.so and the runtime libraries
# beside it, which its RUNPATH $ORIGIN finds), and ckpt2cpp_MODEL_DIR, the bundled model.
get_filename_component(_ckpt2cpp_root "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET ckpt2cpp::ckpt2cpp)
  add_library(ckpt2cpp::ckpt2cpp SHARED IMPORTED)
  set_target_properties(ckpt2cpp::ckpt2cpp PROPERTIES
    IMPORTED_LOCATION "${_ckpt2cpp_root}/lib/libckpt2cpp.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_ckpt2cpp_root}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_17
    # the linker resolves libckpt2cpp.so's own needs (the runtime library) in lib/ too
    INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${_ckpt2cpp_root}/lib")
endif()
set(ckpt2cpp_MODEL_DIR "${_ckpt2cpp_root}/model")
set(ckpt2cpp_FOUND TRUE)
