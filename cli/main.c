/*
 * chatctl: reads the global options, loads the chat options from the
 * broker's configuration file and hands the rest of the command line to
 * one command family.
 */
#include "chatctl.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_CONFIG "mosquitto.conf"

struct command {
	const char *name;
	chatctl_command_fn run;
};

static const struct command commands[] = {
    {"init", chatctl_init_command},
    {"user", chatctl_user_command},
    {"device", chatctl_device_command},
    {"convo", chatctl_convo_command},
    {"group", chatctl_group_command},
};

struct global_options {
	const char *config_path;
	const char *db_path;
	int next; /* index of the command name in argv */
};

/* Returns 0, or CHATCTL_USAGE after printing the usage text. */
static bool asks_for_help(const char *word)
{
	return strcmp(word, "help") == 0 || strcmp(word, "-h") == 0 ||
	       strcmp(word, "--help") == 0;
}

static int parse_global_options(int argc, char **argv, struct global_options *g)
{
	g->config_path = DEFAULT_CONFIG;
	g->db_path = NULL;
	for (g->next = 1; g->next < argc && argv[g->next][0] == '-';
	     g->next++) {
		const char *option = argv[g->next];
		bool takes_value =
		    strcmp(option, "-c") == 0 || strcmp(option, "--db") == 0;

		if (asks_for_help(option))
			break;

		if (!takes_value || g->next + 1 >= argc) {
			chatctl_usage();
			return CHATCTL_USAGE;
		}
		g->next++;
		if (strcmp(option, "-c") == 0)
			g->config_path = argv[g->next];
		else
			g->db_path = argv[g->next];
	}
	if (g->next >= argc) {
		chatctl_usage();
		return CHATCTL_USAGE;
	}
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The same file the broker reads, so chatctl finds the broker's store. */
static int load_options(struct chatctl *ctl, const struct global_options *g)
{
	char err[512] = "";

	chat_options_defaults(&ctl->opts);
	if (chat_options_load_file(&ctl->opts, g->config_path, err,
	                           sizeof(err)) != 0) {
		chatctl_error("%s (name the broker's configuration with -c)",
		              err);
		return -1;
	}
	if (g->db_path == NULL)
		return 0;
	if (chat_options_set(&ctl->opts, "database", g->db_path) != CHAT_OPTION_OK) {
		chatctl_error("invalid --db path");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct global_options g;
	struct chatctl ctl = {0};
	const struct command *command;
	int rc;

	if (chat_crypto_init() != 0) {
		chatctl_error("cannot initialise libsodium");
		return CHATCTL_FAILED;
	}
	rc = parse_global_options(argc, argv, &g);
	if (rc != 0)
		return rc;
	if (asks_for_help(argv[g.next])) {
		chatctl_help();
		return 0;
	}
	command = find_command(argv[g.next]);
	if (command == NULL) {
		chatctl_usage();
		return CHATCTL_USAGE;
	}
	if (load_options(&ctl, &g) != 0)
		return CHATCTL_FAILED;
	rc = command->run(&ctl, argc - g.next - 1, argv + g.next + 1);
	chatctl_store_close(&ctl);
	if (fflush(stdout) != 0) {
		chatctl_error("cannot write the output");
		return CHATCTL_FAILED;
	}
	return rc;
}
