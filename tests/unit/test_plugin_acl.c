/* Access decisions: who may subscribe, receive and publish where. */
#include "plugin/acl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct chat_topics topics;
static const char *service = "$bridge";

static bool allows(const char *user, enum chat_access access,
		   const char *topic)
{
	struct chat_acl_request req = {.username = user,
				       .access = access,
				       .topic = topic};

	return chat_acl_allows(&topics, service, &req);
}

static bool allows_retained(const char *user, const char *topic)
{
	struct chat_acl_request req = {.username = user,
				       .access = CHAT_ACCESS_WRITE,
				       .topic = topic,
				       .retain = true};

	return chat_acl_allows(&topics, service, &req);
}

static void user_subscribes_only_to_own_inbox(void **state)
{
	(void)state;
	assert_true(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/bob/#"));
	assert_true(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/bob/msg"));
	assert_true(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/bob/+"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/alice/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/+/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "+/u/bob/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "$SYS/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "$chat/bridge/#"));
	assert_false(
		allows("bob", CHAT_ACCESS_SUBSCRIBE, "$share/g/chat/u/bob/#"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/send/#"));
	/* Broadcast topics need membership: never granted by these rules
	 * alone (the plugin's core checks the members). */
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/c/c_1"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/c/#"));
}

static void user_name_prefix_of_another_is_not_enough(void **state)
{
	(void)state;
	/* "bo" must not reach "bob"'s inbox, nor "bob" reach "bobby"'s. */
	assert_false(allows("bo", CHAT_ACCESS_SUBSCRIBE, "chat/u/bob/#"));
	assert_false(allows("bo", CHAT_ACCESS_READ, "chat/u/bob/msg"));
	assert_false(allows("bob", CHAT_ACCESS_READ, "chat/u/bobby/msg"));
	assert_false(allows("bob", CHAT_ACCESS_SUBSCRIBE, "chat/u/bob"));
}

static void user_receives_only_from_own_inbox(void **state)
{
	(void)state;
	assert_true(allows("bob", CHAT_ACCESS_READ, "chat/u/bob/msg"));
	assert_false(allows("bob", CHAT_ACCESS_READ, "chat/u/alice/msg"));
	assert_false(allows("bob", CHAT_ACCESS_READ, "chat/send/c1"));
	assert_false(allows("bob", CHAT_ACCESS_READ, "$chat/bridge/in/messages"));
}

static void user_publishes_to_send_and_request_topics_only(void **state)
{
	(void)state;
	assert_true(allows("bob", CHAT_ACCESS_WRITE, "chat/send/c_1"));
	assert_true(allows("bob", CHAT_ACCESS_WRITE, "chat/req"));
	assert_true(allows("bob", CHAT_ACCESS_WRITE, "chat/ack/c_1"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/ack/#"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/c/c_1"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/send/a/b"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/send/"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/send/.."));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/u/bob/msg"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "chat/u/alice/msg"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "$chat/bridge/hello"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE,
			    "$chat/bridge/out/committed"));
	assert_false(allows("bob", CHAT_ACCESS_WRITE, "other/topic"));
}

static void service_uses_internal_topics_only(void **state)
{
	(void)state;
	assert_true(allows(service, CHAT_ACCESS_READ,
			   "$chat/bridge/in/messages"));
	assert_true(allows(service, CHAT_ACCESS_WRITE,
			   "$chat/bridge/out/committed"));
	assert_false(allows(service, CHAT_ACCESS_SUBSCRIBE, "#"));
	assert_false(allows(service, CHAT_ACCESS_READ, "chat/u/bob/msg"));
	assert_false(allows(service, CHAT_ACCESS_WRITE, "chat/u/bob/msg"));
}

static void unauthenticated_and_invalid_names_get_nothing(void **state)
{
	(void)state;
	assert_false(allows(NULL, CHAT_ACCESS_READ, "chat/u/bob/msg"));
	assert_false(allows("a/b", CHAT_ACCESS_SUBSCRIBE, "chat/u/a/b/#"));
	assert_false(allows("+", CHAT_ACCESS_SUBSCRIBE, "chat/u/+/#"));
	assert_false(allows("#", CHAT_ACCESS_READ, "chat/u/#/msg"));
}

/* Wills skip the message handler that clears the flag: a retained will
 * would otherwise stay in the broker forever. */
static void retained_publishes_and_wills_are_refused(void **state)
{
	(void)state;
	assert_false(allows_retained("bob", "chat/send/c_1"));
	assert_false(allows_retained("bob", "chat/req"));
	assert_false(allows_retained(service, "$chat/bridge/out/committed"));
}

static void unsubscribe_is_always_allowed(void **state)
{
	(void)state;
	assert_true(allows("bob", CHAT_ACCESS_UNSUBSCRIBE, "#"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_subscribes_only_to_own_inbox),
		cmocka_unit_test(user_name_prefix_of_another_is_not_enough),
		cmocka_unit_test(user_receives_only_from_own_inbox),
		cmocka_unit_test(user_publishes_to_send_and_request_topics_only),
		cmocka_unit_test(service_uses_internal_topics_only),
		cmocka_unit_test(unauthenticated_and_invalid_names_get_nothing),
		cmocka_unit_test(retained_publishes_and_wills_are_refused),
		cmocka_unit_test(unsubscribe_is_always_allowed),
	};

	chat_topics_init(&topics, "chat");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
