#include "boxjail/environ.h"

#include <pwd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "boxjail/cli.h"
#include "boxjail/identity.h"
#include "boxjail/numparse.h"

namespace boxjail {

void json_escape(std::string* out, std::string_view s);  // plan.h

namespace environment {
namespace {

const char* const kNameRule = "letters, digits and _, not starting with a digit";

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void add_once(std::vector<std::string>* v, const std::string& s) {
  if (!has(*v, s)) v->push_back(s);
}

// The name of an environment entry: what comes before the first '='.
std::string_view name_of(const char* entry) {
  std::string_view e(entry);
  return e.substr(0, e.find('='));
}

std::string bad_name(const std::string& flag, const std::string& spec, const std::string& name) {
  if (name.empty()) return flag + " " + spec + ": empty variable name";
  return flag + " " + spec + ": '" + name + "' is not a variable name (" + kNameRule + ")";
}

// --setenv, --unsetenv and --keep-env, each checked on its own.
bool parse_flags(const Options& o, EnvPlan* plan, std::vector<std::string>* set_spec,
                 std::vector<std::string>* keep_spec, std::string* err) {
  for (const std::string& spec : o.set_env) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos)
      return *err = "--setenv " + spec + ": expected NAME=VALUE (an empty VALUE is NAME=)", false;
    const std::string name = spec.substr(0, eq);
    if (!valid_name(name)) return *err = bad_name("--setenv", spec, name), false;
    for (size_t i = 0; i < plan->set.size(); ++i)
      if (plan->set[i].first == name)
        return *err = "--setenv " + spec + ": " + name + " is already set by --setenv " +
                      (*set_spec)[i],
               false;
    plan->set.emplace_back(name, spec.substr(eq + 1));
    set_spec->push_back(spec);
  }
  for (const std::string& name : o.unset_env) {
    if (name.find('=') != std::string::npos)
      return *err = "--unsetenv " + name + ": takes a NAME, not NAME=VALUE (--setenv sets one)",
             false;
    if (!valid_name(name)) return *err = bad_name("--unsetenv", name, name), false;
    add_once(&plan->unset, name);
  }
  for (const std::string& list : o.keep_env) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      const std::string name = list.substr(start, comma - start);
      start = comma + 1;
      if (!valid_name(name)) return *err = bad_name("--keep-env", list, name), false;
      if (!has(plan->keep, name)) {
        plan->keep.push_back(name);
        keep_spec->push_back(list);
      }
    }
  }
  return true;
}

// The combinations: one NAME may be named by one of --setenv, --unsetenv
// and --keep-env only, whatever the order.
bool check_combinations(const Options& o, const EnvPlan& plan,
                        const std::vector<std::string>& set_spec,
                        const std::vector<std::string>& keep_spec, std::string* err) {
  if (!plan.keep.empty() && !o.clear_env)
    return *err = "--keep-env needs --clear-env (without it every variable is kept; "
                  "--unsetenv NAME removes one)",
           false;
  for (size_t i = 0; i < plan.set.size(); ++i) {
    const std::string& name = plan.set[i].first;
    if (has(plan.unset, name))
      return *err = "--setenv " + set_spec[i] + " cannot be combined with --unsetenv " + name,
             false;
    for (size_t k = 0; k < plan.keep.size(); ++k)
      if (plan.keep[k] == name)
        return *err = "--setenv " + set_spec[i] + " cannot be combined with --keep-env " +
                      keep_spec[k] + " (one sets " + name + ", the other keeps boxjail's)",
               false;
  }
  for (size_t k = 0; k < plan.keep.size(); ++k)
    if (has(plan.unset, plan.keep[k]))
      return *err = "--keep-env " + keep_spec[k] + " cannot be combined with --unsetenv " +
                    plan.keep[k],
             false;
  return true;
}

// --user-env: HOME, USER, LOGNAME and SHELL as su - sets them, except those
// a per-name flag names (that flag wins).
bool add_user_env(const Options& o, AccountLookup lookup, EnvPlan* plan, std::string* err) {
  if (!o.user_env) return true;
  if (!o.has_user)
    return *err = "--user-env needs --user (it sets HOME, USER, LOGNAME and SHELL from that "
                  "user's passwd entry)",
           false;
  const std::string user = o.user.substr(0, o.user.find(':'));
  Account a;
  if (user.empty() || !lookup(user, &a))
    return *err = "--user-env: --user " + o.user + " has no entry in /etc/passwd (set HOME "
                  "and the others with --setenv)",
           false;
  plan->user_env = a.name;
  // As login(1) and su(1) do for empty fields.
  const std::pair<const char*, std::string> from_passwd[] = {
      {"HOME", a.home.empty() ? "/" : a.home},
      {"USER", a.name},
      {"LOGNAME", a.name},
      {"SHELL", a.shell.empty() ? "/bin/sh" : a.shell}};
  for (const auto& entry : from_passwd) {
    // (A named variable, not a structured binding: clang 14 cannot capture one.)
    const char* name = entry.first;
    const bool named = has(plan->unset, name) || has(plan->keep, name) ||
                       std::any_of(plan->set.begin(), plan->set.end(),
                                   [&](const auto& s) { return s.first == name; });
    if (!named) plan->set.emplace_back(name, entry.second);
  }
  return true;
}

}  // namespace

bool valid_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool passwd_account(const std::string& user, Account* out) {
  uint64_t uid = 0;
  size_t used = 0;
  const bool number = !user.empty() && user[0] >= '0' && user[0] <= '9' &&
                      parse_u64_prefix(user, &uid, &used) == NumError::kOk &&
                      used == user.size() && uid < 0xffffffffu;
  PasswdEntry pw;
  if (!(number ? passwd_by_uid(static_cast<uid_t>(uid), &pw) : passwd_by_name(user, &pw)))
    return false;
  *out = {pw.name, pw.dir, pw.shell};
  return true;
}

bool check(const Options& o, char* const* envp, AccountLookup lookup, EnvPlan* plan,
           std::string* err) {
  plan->active = o.clear_env || !o.set_env.empty() || !o.unset_env.empty() ||
                 !o.keep_env.empty() || o.user_env;
  if (!plan->active) {
    for (char* const* e = envp; e && *e; ++e) plan->envp.push_back(*e);
    plan->envp.push_back(nullptr);
    return true;
  }
  plan->clear = o.clear_env;
  std::vector<std::string> set_spec, keep_spec;  // the flag each name came from, for messages
  if (!parse_flags(o, plan, &set_spec, &keep_spec, err) ||
      !check_combinations(o, *plan, set_spec, keep_spec, err) ||
      !add_user_env(o, lookup, plan, err))
    return false;
  // Built in full before envp takes pointers into it.
  plan->owned.reserve(plan->set.size());
  for (const auto& [name, value] : plan->set) plan->owned.push_back(name + "=" + value);
  for (char* const* e = envp; e && *e; ++e) {
    const std::string_view name = name_of(*e);
    const bool drop = (plan->clear && !has(plan->keep, name)) || has(plan->unset, name) ||
                      std::any_of(plan->set.begin(), plan->set.end(),
                                  [&](const auto& s) { return s.first == name; });
    (drop ? plan->removed : plan->inherited).emplace_back(name);
    if (!drop) plan->envp.push_back(*e);
  }
  for (std::string& s : plan->owned) plan->envp.push_back(s.data());
  plan->envp.push_back(nullptr);
  return true;
}

std::string to_json(const EnvPlan& plan) {
  auto list = [](std::string* j, const std::vector<std::string>& v) {
    *j += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) *j += ',';
      json_escape(j, v[i]);
    }
    *j += ']';
  };
  std::string j = "{\"clear\":";
  j += plan.clear ? "true" : "false";
  // The values set are the user's own (or the passwd entry's); inherited
  // values are never shown.
  j += ",\"set\":{";
  for (size_t i = 0; i < plan.set.size(); ++i) {
    if (i) j += ',';
    json_escape(&j, plan.set[i].first);
    j += ':';
    json_escape(&j, plan.set[i].second);
  }
  j += "},\"unset\":";
  list(&j, plan.unset);
  j += ",\"keep\":";
  list(&j, plan.keep);
  j += ",\"user_env\":";
  if (plan.user_env.empty()) j += "null";
  else json_escape(&j, plan.user_env);
  j += ",\"inherited\":";
  list(&j, plan.inherited);
  j += ",\"removed\":";
  list(&j, plan.removed);
  return j + '}';
}

}  // namespace environment
}  // namespace boxjail
