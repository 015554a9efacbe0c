// tests/cuda/test_landmark_pool.cu — the CUDA landmark pooling kernels (kernels/seam/landmark_pool.cuh)
// against the CPU reference (include/seam/cpu/reference/landmark_pool.hpp), float and double.
//
// A self-contained program (no doctest, no seam CUDA runtime): for every case it draws inputs on
// the host, computes the reference forward, argmax and both gradients, uploads the inputs, runs
// the three kernels into outputs prefilled with NaN (argmax with a byte pattern that is never a
// valid index), and compares: values within atol + rtol*|ref|, argmax exactly, every mismatch
// reported as (n,l,c,bh,bw) (features: (n,c,h,w); visibility: (n,l)). It then reads the inputs
// back and checks that the kernels left them unchanged.
//
//   nvcc -std=c++20 -arch=sm_80 -Iinclude -Ikernels -Xcompiler -fopenmp \
//        tests/cuda/test_landmark_pool.cu -o test_landmark_pool_cuda -lgomp
//
// Exit status: 0 all passed, 1 a mismatch or CUDA error, 77 no usable GPU (CTest's
// SKIP_RETURN_CODE; any failure of cudaGetDeviceCount counts as "no GPU").
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <seam/cpu/reference/landmark_pool.hpp>
#include <seam/landmark_pool.cuh>

namespace {

namespace sk = seam::kernels;
using seam::LandmarkGate;
using seam::LandmarkPoolOptions;
using seam::Shape;
using seam::Tensor;

int g_failures = 0;

#define CUDA_OK(call)                                                                                   \
    do {                                                                                                \
        cudaError_t err_ = (call);                                                                      \
        if (err_ != cudaSuccess) {                                                                      \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
            std::exit(1);                                                                               \
        }                                                                                               \
    } while (0)

/// A device array with host round trips.
template <class T>
struct DeviceArray {
    T* ptr = nullptr;
    size_t count = 0;
    explicit DeviceArray(size_t n) : count(n) { CUDA_OK(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T))); }
    explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
    ~DeviceArray() { cudaFree(ptr); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    void upload(const std::vector<T>& host) {
        if (count) CUDA_OK(cudaMemcpy(ptr, host.data(), count * sizeof(T), cudaMemcpyHostToDevice));
    }
    std::vector<T> download() const {
        std::vector<T> host(count);
        if (count) CUDA_OK(cudaMemcpy(host.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
        return host;
    }
    /// Fill with a byte pattern (0x7f.. is NaN for floats and a huge positive int64).
    void poison() {
        if (count) CUDA_OK(cudaMemset(ptr, 0x7f, count * sizeof(T)));
    }
};

std::string index_str(int64_t flat, const Shape& shape) {
    Shape idx(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    std::string s = "(";
    for (size_t d = 0; d < idx.size(); ++d) s += (d ? "," : "") + std::to_string(idx[d]);
    return s + ")";
}

/// Compare with tolerance atol + rtol*|ref|; NaN only matches NaN. Prints the first mismatches.
template <class T>
bool compare(const char* what, const std::string& case_name, const std::vector<T>& got, const std::vector<T>& ref,
             const Shape& shape, double atol, double rtol) {
    int64_t bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
        const bool ok = (std::isnan(r) && std::isnan(g)) || (!std::isnan(g) && std::abs(g - r) <= atol + rtol * std::abs(r));
        if (ok) continue;
        if (bad++ < 10)
            std::fprintf(stderr, "  %s %s: mismatch at %s: got %.9g, reference %.9g\n", case_name.c_str(), what,
                         index_str(static_cast<int64_t>(i), shape).c_str(), g, r);
    }
    if (bad) std::fprintf(stderr, "  %s %s: %lld of %zu elements differ\n", case_name.c_str(), what,
                          static_cast<long long>(bad), ref.size());
    return bad == 0;
}

bool compare_exact(const char* what, const std::string& case_name, const std::vector<int64_t>& got,
                   const std::vector<int64_t>& ref, const Shape& shape) {
    int64_t bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (got[i] == ref[i]) continue;
        if (bad++ < 10)
            std::fprintf(stderr, "  %s %s: mismatch at %s: got %lld, reference %lld\n", case_name.c_str(), what,
                         index_str(static_cast<int64_t>(i), shape).c_str(), static_cast<long long>(got[i]),
                         static_cast<long long>(ref[i]));
    }
    if (bad) std::fprintf(stderr, "  %s %s: %lld of %zu elements differ\n", case_name.c_str(), what,
                          static_cast<long long>(bad), ref.size());
    return bad == 0;
}

template <class T>
bool unchanged(const char* what, const std::string& case_name, const DeviceArray<T>& dev, const std::vector<T>& host) {
    const std::vector<T> back = dev.download();
    if (host.empty() || std::memcmp(back.data(), host.data(), host.size() * sizeof(T)) == 0) return true;
    std::fprintf(stderr, "  %s: the kernels modified the input %s\n", case_name.c_str(), what);
    return false;
}

struct Case {
    const char* name;
    int64_t N, C, H, W, L;
    std::array<int64_t, 2> window, bins;
    LandmarkGate gate;
};

template <class T>
void run_case(const Case& k, uint64_t seed) {
    const std::string name = std::string(k.name) + (std::is_same_v<T, float> ? " [float]" : " [double]");
    const double atol = std::is_same_v<T, float> ? 1e-5 : 1e-12, rtol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    seam::Generator gen(seed);
    LandmarkPoolOptions opt;
    opt.window = k.window;
    opt.bins = k.bins;
    opt.gate = k.gate;

    // Inputs: landmarks over [-0.4, 1.4] with fixed border and far-outside points first.
    Tensor<T> features = seam::randn<T>({k.N, k.C, k.H, k.W}, gen);
    Tensor<T> landmarks = seam::rand<T>({k.N, k.L, 2}, gen, T(-0.4), T(1.4));
    const T special[5][2] = {{0, 0}, {1, 1}, {1, T(0.5)}, {-3, T(0.5)}, {T(0.5), 7}};
    for (int64_t l = 0; l < std::min<int64_t>(k.L, 5); ++l) landmarks.data()[2 * l] = special[l][0], landmarks.data()[2 * l + 1] = special[l][1];
    Tensor<T> visibility = seam::rand<T>({k.N, k.L}, gen);

    const auto [ref_out, ref_idx] = seam::reference::landmark_pool(features, landmarks, visibility, opt);
    Tensor<T> grad_out = seam::randn<T>(ref_out.shape(), gen);
    const Tensor<T> ref_gf =
        seam::reference::landmark_pool_backward_features(grad_out, ref_idx, visibility, opt, features.shape());
    const bool soft = k.gate == LandmarkGate::soft;

    const std::vector<T> h_features = features.to_vector(), h_landmarks = landmarks.to_vector(),
                         h_visibility = visibility.to_vector(), h_grad_out = grad_out.to_vector();
    DeviceArray<T> d_features(h_features), d_landmarks(h_landmarks), d_visibility(h_visibility), d_grad_out(h_grad_out);
    DeviceArray<T> d_out(static_cast<size_t>(ref_out.numel())), d_gf(static_cast<size_t>(features.numel())),
        d_gv(static_cast<size_t>(k.N * k.L));
    DeviceArray<int64_t> d_idx(static_cast<size_t>(ref_out.numel()));
    d_out.poison(), d_gf.poison(), d_gv.poison(), d_idx.poison();

    sk::LandmarkPoolShape s;
    s.N = k.N, s.C = k.C, s.H = k.H, s.W = k.W, s.L = k.L;
    s.window_h = k.window[0], s.window_w = k.window[1], s.bins_h = k.bins[0], s.bins_w = k.bins[1];
    s.gate = static_cast<int>(k.gate);
    s.threshold = opt.threshold;
    CUDA_OK(sk::landmark_pool_forward<T>(d_features.ptr, d_landmarks.ptr, d_visibility.ptr, d_out.ptr, d_idx.ptr, s));
    CUDA_OK(sk::landmark_pool_backward_features<T>(d_grad_out.ptr, d_idx.ptr, d_visibility.ptr, d_gf.ptr, s));
    if (soft) CUDA_OK(sk::landmark_pool_backward_visibility<T>(d_grad_out.ptr, d_features.ptr, d_idx.ptr, d_gv.ptr, s));
    CUDA_OK(cudaDeviceSynchronize());

    bool ok = compare("forward", name, d_out.download(), ref_out.to_vector(), ref_out.shape(), atol, rtol);
    ok = compare_exact("argmax", name, d_idx.download(), ref_idx.to_vector(), ref_out.shape()) && ok;
    ok = compare("d features", name, d_gf.download(), ref_gf.to_vector(), features.shape(), atol, rtol) && ok;
    if (soft) {
        const Tensor<T> ref_gv = seam::reference::landmark_pool_backward_visibility(grad_out, features, landmarks, opt);
        // The block reduction adds in another order than the reference: allow for the sum's length.
        const double sum_tol = std::is_same_v<T, float> ? 1e-4 : 1e-11;
        ok = compare("d visibility", name, d_gv.download(), ref_gv.to_vector(), ref_gv.shape(), sum_tol, sum_tol) && ok;
    }
    ok = unchanged("features", name, d_features, h_features) && ok;
    ok = unchanged("landmarks", name, d_landmarks, h_landmarks) && ok;
    ok = unchanged("visibility", name, d_visibility, h_visibility) && ok;
    ok = unchanged("grad_out", name, d_grad_out, h_grad_out) && ok;
    std::printf("%-4s %s\n", ok ? "ok" : "FAIL", name.c_str());
    if (!ok) ++g_failures;
}

/// A NaN landmark (which the CPU op rejects) gives an empty window on the GPU, never a bad read;
/// and launchers refuse invalid shapes.
void run_edge_cases() {
    sk::LandmarkPoolShape s;
    s.N = 1, s.C = 2, s.H = 4, s.W = 4, s.L = 1, s.window_h = s.window_w = 3, s.bins_h = s.bins_w = 2;
    s.gate = sk::kLandmarkGateNone;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    DeviceArray<float> f(std::vector<float>(32, 1.0f)), lm(std::vector<float>{nan, 0.5f}), out(8);
    DeviceArray<int64_t> idx(8);
    out.poison(), idx.poison();
    CUDA_OK(sk::landmark_pool_forward<float>(f.ptr, lm.ptr, nullptr, out.ptr, idx.ptr, s));
    CUDA_OK(cudaDeviceSynchronize());
    bool ok = compare("NaN landmark forward", "edge", out.download(), std::vector<float>(8, 0.0f), {1, 1, 2, 2, 2}, 0, 0);
    ok = compare_exact("NaN landmark argmax", "edge", idx.download(), std::vector<int64_t>(8, -1), {1, 1, 2, 2, 2}) && ok;
    sk::LandmarkPoolShape bad = s;
    bad.window_h = 0;
    ok = sk::landmark_pool_forward<float>(f.ptr, lm.ptr, nullptr, out.ptr, idx.ptr, bad) == cudaErrorInvalidValue && ok;
    bad = s;
    bad.gate = sk::kLandmarkGateHard;  // hard gate without visibility
    ok = sk::landmark_pool_forward<float>(f.ptr, lm.ptr, nullptr, out.ptr, idx.ptr, bad) == cudaErrorInvalidValue && ok;
    ok = sk::landmark_pool_backward_visibility<float>(out.ptr, f.ptr, idx.ptr, out.ptr, s) == cudaErrorInvalidValue && ok;
    std::printf("%-4s edge cases (NaN landmark, invalid shapes)\n", ok ? "ok" : "FAIL");
    if (!ok) ++g_failures;
}

}  // namespace

int main() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("test_landmark_pool (CUDA): no GPU available, skipped\n");
        return 77;
    }
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    std::printf("test_landmark_pool (CUDA) on %s\n", prop.name);

    const std::vector<Case> cases = {
        {"odd map, odd window, overlapping bins", 1, 3, 7, 9, 4, {3, 3}, {2, 2}, LandmarkGate::hard},
        {"C=17, bins 3x3 over 4x5", 3, 17, 6, 5, 3, {4, 5}, {3, 3}, LandmarkGate::soft},
        {"window larger than the map", 2, 3, 5, 7, 5, {11, 13}, {2, 2}, LandmarkGate::none},
        {"1x1 window and bins", 1, 17, 9, 4, 2, {1, 1}, {1, 1}, LandmarkGate::soft},
        {"one bin over a 7x7 window", 3, 5, 8, 8, 6, {7, 7}, {1, 1}, LandmarkGate::hard},
        {"more bin rows than window rows", 2, 4, 3, 11, 3, {2, 6}, {3, 3}, LandmarkGate::none},
        {"FashionNet geometry, hard", 4, 128, 28, 28, 8, {7, 7}, {2, 2}, LandmarkGate::hard},
        {"FashionNet geometry, soft", 2, 96, 28, 28, 8, {7, 7}, {2, 2}, LandmarkGate::soft},
    };
    uint64_t seed = 100;
    for (const Case& k : cases) {
        run_case<float>(k, seed);
        run_case<double>(k, seed++);
    }
    run_edge_cases();
    if (g_failures) {
        std::printf("test_landmark_pool (CUDA): %d FAILED\n", g_failures);
        return 1;
    }
    std::printf("test_landmark_pool (CUDA): all passed\n");
    return 0;
}
