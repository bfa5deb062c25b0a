// The subcommands of the hajib binary besides the daemon, one file each in proxy/ops/.
#pragma once

namespace proxy {

int run_check(int argc, char** argv);
int run_passwd(int argc, char** argv);
int run_ports(int argc, char** argv);
int run_explain(int argc, char** argv);
int run_optout(int argc, char** argv);
int run_balance(int argc, char** argv);
int run_usage(int argc, char** argv);
int run_forget(int argc, char** argv);

}  // namespace proxy
