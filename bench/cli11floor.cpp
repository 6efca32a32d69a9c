// bench/cli11floor: the floor for any CLI11-based exec wrapper. It parses
// the command line bench/run gives boxjail --no-fork (--no-fork and
// --rlimit) with CLI11, as boxjail does, and execs the rest. Built like
// boxjail: -O2, static PIE.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"floor"};
  bool no_fork = false;
  std::vector<std::string> rlimits;
  app.add_flag("--no-fork", no_fork);
  app.add_option("--rlimit", rlimits)->allow_extra_args(false);
  app.prefix_command();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<std::string> rest = app.remaining();
  if (!rest.empty() && rest[0] == "--") rest.erase(rest.begin());
  if (rest.empty()) return 2;
  std::vector<char*> av;
  for (auto& s : rest) av.push_back(s.data());
  av.push_back(nullptr);
  execv(av[0], av.data());
  return 127;
}
