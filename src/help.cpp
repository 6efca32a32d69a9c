#include "boxjail/help.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <vector>

namespace boxjail::help {
namespace {

const char* const kSections[] = {
    "Process and modes",
    "Supervisor",
    "Descriptors",
    "Limits and scheduling",
    "Environment",
    "Filesystem (Landlock)",
    "Network",
    "System calls (seccomp)",
    "Hardening",
    "Identity and privileges",
    "Cgroups",
    "Configuration",
    "Reports and output",
    kOther,
};

struct Placement {
  const char* flag;     // long name
  const char* section;  // one of kSections
};

// Which section each flag of cli.cpp's table is shown in. A flag added
// there and not here is shown under kOther, and cli_test's
// HelpPlacesEveryFlagInASection fails until it is placed.
const Placement kPlacements[] = {
    {"detach", "Process and modes"},
    {"no-fork", "Process and modes"},
    {"chdir", "Process and modes"},
    {"die-with-parent", "Process and modes"},
    {"timeout", "Process and modes"},
    {"pidfile", "Supervisor"},
    {"check-pidfile", "Supervisor"},
    {"status-fd", "Supervisor"},
    {"ready", "Supervisor"},
    {"ready-timeout", "Supervisor"},
    {"stop", "Supervisor"},
    {"stop-timeout", "Supervisor"},
    {"reap", "Supervisor"},
    {"reap-grace", "Supervisor"},
    {"signal-group", "Supervisor"},
    {"fd", "Descriptors"},
    {"keep-fds", "Descriptors"},
    {"rlimit", "Limits and scheduling"},
    {"cpus", "Limits and scheduling"},
    {"nice", "Limits and scheduling"},
    {"oom-score-adj", "Limits and scheduling"},
    {"clear-env", "Environment"},
    {"setenv", "Environment"},
    {"unsetenv", "Environment"},
    {"keep-env", "Environment"},
    {"user-env", "Environment"},
    {"fs-ro", "Filesystem (Landlock)"},
    {"fs-rx", "Filesystem (Landlock)"},
    {"fs-rw", "Filesystem (Landlock)"},
    {"fs-rwx", "Filesystem (Landlock)"},
    {"fs-exec-deps", "Filesystem (Landlock)"},
    {"scope", "Filesystem (Landlock)"},
    {"landlock", "Filesystem (Landlock)"},
    {"landlock-log", "Filesystem (Landlock)"},
    {"net-bind", "Network"},
    {"net-connect", "Network"},
    {"net-deny", "Network"},
    {"net-allow-udp", "Network"},
    {"netns", "Network"},
    {"restrict-address-families", "Network"},
    {"seccomp-deny", "System calls (seccomp)"},
    {"seccomp-allow", "System calls (seccomp)"},
    {"seccomp-rule", "System calls (seccomp)"},
    {"seccomp-default", "System calls (seccomp)"},
    {"seccomp-profile", "System calls (seccomp)"},
    {"seccomp-bpf", "System calls (seccomp)"},
    {"seccomp-keep-io-uring", "System calls (seccomp)"},
    {"learn", "System calls (seccomp)"},
    {"exec-once", "Hardening"},
    {"restrict-namespaces", "Hardening"},
    {"memory-deny-write-execute", "Hardening"},
    {"user", "Identity and privileges"},
    {"groups", "Identity and privileges"},
    {"cap-drop", "Identity and privileges"},
    {"cap-keep", "Identity and privileges"},
    {"cap-keep-root-equivalent", "Identity and privileges"},
    {"securebits", "Identity and privileges"},
    {"no-new-privs", "Identity and privileges"},
    {"allow-new-privs", "Identity and privileges"},
    {"cgroup", "Cgroups"},
    {"cgroup-set", "Cgroups"},
    {"profile", "Configuration"},
    {"config", "Configuration"},
    {"features", "Reports and output"},
    {"list-syscall-groups", "Reports and output"},
    {"dry-run", "Reports and output"},
    {"verbose", "Reports and output"},
    {"quiet", "Reports and output"},
    {"log-level", "Reports and output"},
    {"help", "Reports and output"},
    {"version", "Reports and output"},
};

// The column descriptions start at: 30 on 80 columns, less when narrower.
size_t description_column(size_t width) { return std::clamp<size_t>(width * 3 / 8, 8, 32); }

class Formatter : public CLI::Formatter {
 public:
  explicit Formatter(size_t width) : width_(std::max(width, kMinWidth)) {}

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::string out = wrap(app->get_description(), width_, 0, 0);
    out += wrap("Usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...]", width_, 0, 7);
    const std::vector<const CLI::Option*> opts = app->get_options();
    std::vector<std::string> order;
    size_t n = 0;
    const char* const* s = sections(&n);
    order.assign(s, s + n);
    // A group the table does not know (none today) still gets shown.
    for (const CLI::Option* o : opts)
      if (!o->get_group().empty() &&
          std::find(order.begin(), order.end(), o->get_group()) == order.end())
        order.push_back(o->get_group());
    for (const std::string& group : order) {
      std::string body;
      for (const CLI::Option* o : opts)
        if (o->get_group() == group) body += option(o);
      if (!body.empty()) out += "\n" + group + ":\n" + body;
    }
    std::string footer = app->get_footer();
    if (!footer.empty()) {
      out += '\n';
      for (size_t at = 0; at <= footer.size();) {
        size_t nl = std::min(footer.find('\n', at), footer.size());
        out += wrap(std::string_view(footer).substr(at, nl - at), width_, 0, 2);
        at = nl + 1;
      }
    }
    return out;
  }

 private:
  // "  -p,--pidfile PATH          Write ..." with the description wrapped at
  // its column, or under the name when the name does not leave room.
  std::string option(const CLI::Option* opt) const {
    std::string name = CLI::Formatter::make_option_name(opt, false);
    size_t brace = name.find('{');
    // An optional value is shown in the name ([=SIGNAL]), not after it.
    if (brace != std::string::npos) {
      name = name.substr(0, brace) + "[=" + opt->get_type_name() + "]";
    } else if (opt->get_expected_min() != 0) {
      name += CLI::Formatter::make_option_opts(opt);
    }
    const size_t col = description_column(width_);
    const std::string& desc = opt->get_description();
    if (2 + name.size() + 2 <= col) {
      std::string line = "  " + name;
      line.resize(col, ' ');
      return line + wrap(desc, width_, col, col);
    }
    // Continuations of the name are indented past "  -", so that a reader
    // of `^  --name` lines (the completion tests) sees names only.
    return "  " + wrap(name, width_, 2, 6) + std::string(col, ' ') + wrap(desc, width_, col, col);
  }

  size_t width_;
};

}  // namespace

const char* const* sections(size_t* n) {
  *n = sizeof kSections / sizeof kSections[0];
  return kSections;
}

const char* section_of(std::string_view long_name) {
  for (const Placement& p : kPlacements)
    if (long_name == p.flag) return p.section;
  return nullptr;
}

const char* section_or_other(std::string_view long_name) {
  const char* s = section_of(long_name);
  return s != nullptr ? s : kOther;
}

size_t width_for_stdout() {
  size_t w = 0;
  if (const char* c = std::getenv("COLUMNS"); c != nullptr && *c != '\0') {
    char* end = nullptr;
    unsigned long v = std::strtoul(c, &end, 10);
    if (*end == '\0' && v > 0 && v < 10000) w = v;
  }
  if (w == 0) {
    struct winsize ws {};
    if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) w = ws.ws_col;
  }
  if (w == 0) w = 80;
  return std::max(w, kMinWidth);
}

std::string wrap(std::string_view text, size_t width, size_t used, size_t indent) {
  std::string out;
  size_t col = used;
  bool empty = true;  // nothing on this line yet but the indent
  auto newline = [&] {
    out += '\n';
    out.append(indent, ' ');
    col = indent;
    empty = true;
  };
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    size_t end = std::min(text.find(' ', at), text.size());
    std::string_view word = text.substr(at, end - at);
    at = end;
    while (!word.empty()) {
      const size_t need = word.size() + (empty ? 0 : 1);
      if (col + need <= width) {
        if (!empty) out += ' ';
        out += word;
        col += need;
        empty = false;
        break;
      }
      if (!empty) {
        newline();
        continue;
      }
      // A word longer than a whole line: cut it.
      const size_t room = width > col ? width - col : 1;
      const size_t cut = std::min(room, word.size());
      out += word.substr(0, cut);
      col += cut;
      word.remove_prefix(cut);
      if (!word.empty()) newline();
      else empty = false;
    }
  }
  out += '\n';
  return out;
}

std::shared_ptr<CLI::Formatter> formatter(size_t width) { return std::make_shared<Formatter>(width); }

}  // namespace boxjail::help
