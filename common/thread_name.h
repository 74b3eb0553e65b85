#pragma once
// Names for the threads of a process, as `top -H`, `ps -L`, `perf` and /proc/PID/task/*/comm
// show them: the parser's parse, writer and checkpoint threads are told apart by name.

#include <string>
#include <string_view>

namespace common {

// Names the calling thread. Linux keeps at most 15 bytes; a longer name is cut there. Best
// effort: a name is a diagnostic, so a failure is ignored.
void set_thread_name(std::string_view name) noexcept;

// The calling thread's name ("" if it cannot be read).
std::string thread_name();

}  // namespace common
