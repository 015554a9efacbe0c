# SeamCudaTarget — the optional CUDA backend library seam::cuda (included by cmake/SeamCuda.cmake
# when nvcc was found and src/cuda/seam_cuda.cu exists).
#
# seam::cuda is a STATIC library built from ONE nvcc translation unit (src/cuda/seam_cuda.cu, which
# gathers kernels/seam/*.cuh). Linking it gives a target SEAM_WITH_CUDA=1, the CUDA runtime and
# cuBLAS; everything else of seam stays header-only and compiled by the host compiler.
#
# Architectures: sm_80 and sm_90 by default (SASS for both, plus PTX), sm_90 as "90a": the
# arch-specific target of the same chips (H100, H200), whose code adds the wgmma instructions TF32
# conv version 6 needs (kernels/seam/conv2d_tf32_wgmma.cuh; without sm_90a code it is refused with a
# message, nothing else changes). Set SEAM_CUDA_ARCHITECTURES (e.g. "native", "89" or "80;90") or
# CMAKE_CUDA_ARCHITECTURES, which wins when given.
#
# C++20 for nvcc: CMake 3.25 enables CUDA with nvcc 13 but silently ignores CUDA_STANDARD 20, so
# nvcc would compile as C++17. The flag is therefore passed by hand, for CUDA sources only.

set(SEAM_CUDA_ARCHITECTURES "80;90a" CACHE STRING
    "GPU architectures for seam::cuda (CMAKE_CUDA_ARCHITECTURES takes precedence when set)")

# Decide before enable_language(CUDA): it would otherwise fill CMAKE_CUDA_ARCHITECTURES with the
# compiler's default and we could no longer tell whether the user chose it.
if(DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT "${CMAKE_CUDA_ARCHITECTURES}" STREQUAL "")
  set(SEAM_CUDA_ARCHS_IN_USE "${CMAKE_CUDA_ARCHITECTURES}")
else()
  set(SEAM_CUDA_ARCHS_IN_USE "${SEAM_CUDA_ARCHITECTURES}")
  set(CMAKE_CUDA_ARCHITECTURES "${SEAM_CUDA_ARCHITECTURES}")
endif()

enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

add_library(seam_cuda STATIC ${PROJECT_SOURCE_DIR}/src/cuda/seam_cuda.cu)
add_library(seam::cuda ALIAS seam_cuda)
target_link_libraries(seam_cuda PUBLIC seam CUDA::cudart CUDA::cublas)
target_compile_definitions(seam_cuda PUBLIC SEAM_WITH_CUDA=1)
target_compile_options(seam_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
set_target_properties(seam_cuda PROPERTIES
  CUDA_ARCHITECTURES "${SEAM_CUDA_ARCHS_IN_USE}"
  POSITION_INDEPENDENT_CODE ON
  EXPORT_NAME cuda)
message(STATUS "seam: CUDA backend seam::cuda enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${SEAM_CUDA_ARCHS_IN_USE})")

# The CUDA test program (tests/cuda): exits 77 — reported by CTest as skipped — without a GPU.
if(SEAM_BUILD_TESTS AND EXISTS ${PROJECT_SOURCE_DIR}/tests/cuda/CMakeLists.txt)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/cuda ${PROJECT_BINARY_DIR}/tests_cuda)
endif()

# Installed as its own export set: seamConfig.cmake includes seamCudaTargets.cmake when present
# (after find_dependency(CUDAToolkit)), so a CPU-only install stays free of CUDA.
install(TARGETS seam_cuda EXPORT seamCudaTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT seamCudaTargets NAMESPACE seam:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seam)
