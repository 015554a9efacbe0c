// seam/core/error.hpp — the one exception type of the library and the check macro.
//
// Every failed precondition throws seam::Error with a message that names the operation, the
// offending values and, for files, the path and line. Nothing in the library calls abort() on
// bad input: a user's typo must never crash their program.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace seam {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
inline std::string concat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}
}  // namespace detail

/// Throw seam::Error with the pieces streamed together: seam::fail("conv2d: bad ", x).
template <class... Parts>
[[noreturn]] inline void fail(const Parts&... parts) {
    throw Error(detail::concat(parts...));
}

}  // namespace seam

/// SEAM_CHECK(cond, "op: message ", value, ...) — throws seam::Error when cond is false.
#define SEAM_CHECK(cond, ...)                                   \
    do {                                                        \
        if (!(cond)) ::seam::fail(__VA_ARGS__);                 \
    } while (0)
