/* FETCH (RFC 3501 6.4.5): one message at a time, pausing while the
   client is slow to read (output above the high-water mark). */
#include "imap-commands.h"
#include "imap-fetch.h"
#include "imap-util.h"

#include <stdlib.h>

struct fetch_cmd_context {
	struct imap_fetch *fetch;
	uint32_t *seqs;
	unsigned int count, next;
	bool expunged;
};

static void fetch_cmd_context_free(void *context)
{
	struct fetch_cmd_context *ctx = context;

	imap_fetch_free(&ctx->fetch);
	free(ctx->seqs);
	free(ctx);
}

static bool cmd_fetch_continue(struct client_command *cmd)
{
	struct fetch_cmd_context *ctx = cmd->context;

	while (ctx->next < ctx->count) {
		if (cmd->client->disconnected)
			return true;
		if (client_output_is_full(cmd->client))
			return false;
		if (imap_fetch_message(cmd->client, ctx->fetch,
				       ctx->seqs[ctx->next]) < 0)
			ctx->expunged = true;
		ctx->next++;
	}
	client_command_reply(cmd, ctx->expunged || cmd->seqs_expunged ?
		"NO [EXPUNGEISSUED] Some of the requested messages no longer exist." :
		"OK Fetch completed.");
	return true;
}

bool cmd_fetch(struct client_command *cmd)
{
	struct fetch_cmd_context *ctx;
	const char *set, *error;

	if (cmd->context != NULL)
		return cmd_fetch_continue(cmd);

	if (!imap_arg_get_atom(&cmd->args[0], &set) ||
	    cmd->args[1].type == IMAP_ARG_EOL) {
		client_command_error(cmd, cmd->args[0].type == IMAP_ARG_EOL ||
				     cmd->args[1].type == IMAP_ARG_EOL ?
				     "Missing arguments." : "Invalid arguments.");
		return true;
	}
	if (cmd->args[2].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "FETCH modifiers not supported.");
		return true;
	}
	ctx = i_new(struct fetch_cmd_context, 1);
	if (imap_fetch_parse(&cmd->args[1], cmd->uid, &ctx->fetch, &error) < 0) {
		client_command_error(cmd, error);
		free(ctx);
		return true;
	}
	if (imap_seqset_get_seqs(cmd, set, cmd->uid, &ctx->seqs,
				 &ctx->count) < 0) {
		fetch_cmd_context_free(ctx);
		return true;
	}
	cmd->context = ctx;
	cmd->context_free = fetch_cmd_context_free;
	return cmd_fetch_continue(cmd);
}
