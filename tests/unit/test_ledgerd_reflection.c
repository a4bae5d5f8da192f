/* Server reflection without a server: the descriptor index over the
 * protoset compiled into ledgerd (and over a small hand-made set with
 * extensions, which the ledger's proto3 files have none of), and the
 * answer to each kind of request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <grpc/status.h>

#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "ledger/daemon/descriptors.h"
#include "ledger/daemon/reflection.h"
#include "ledger/proto/protoset.h"

static struct ledgerd_descriptors load_ledger(void)
{
	struct ledgerd_descriptors d = LEDGERD_DESCRIPTORS_INIT;
	struct dr_error err = DR_ERROR_INIT;

	assert_int_equal(ledgerd_descriptors_load(&d, ledger_protoset, ledger_protoset_len, &err), 0);
	return d;
}

static const char *file_of(const struct ledgerd_descriptors *d, const char *symbol)
{
	const struct ledgerd_proto_file *f = ledgerd_descriptors_symbol(d, symbol);

	return f ? f->name : "(none)";
}

static void test_protoset_has_every_file_with_protocs_bytes(void **state)
{
	struct ledgerd_descriptors d = load_ledger();
	const char *want[] = { "google/protobuf/struct.proto", "grpc/health/v1/health.proto",
			       "grpc/reflection/v1alpha/reflection.proto",
			       "inferadb/ledger/v1/ledger.proto", "ledger/v1/ledger.proto" };
	const uint8_t *p = ledger_protoset;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_non_null(ledgerd_descriptors_file(&d, want[i]));
		assert_string_equal(ledgerd_descriptors_file(&d, want[i])->name, want[i]);
	}
	assert_null(ledgerd_descriptors_file(&d, "ledger.proto"));
	/* Each file is its record of the set, in order: tag 0x0a, a length,
	 * then exactly these bytes, and nothing between the records. */
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(*p++, 0x0a);
		while (*p++ & 0x80)
			;
		assert_ptr_equal(d.files[i].data, p);
		p += d.files[i].len;
	}
	assert_ptr_equal(p, ledger_protoset + ledger_protoset_len);
	ledgerd_descriptors_release(&d);
}

static void test_symbols_resolve_to_their_file(void **state)
{
	struct ledgerd_descriptors d = load_ledger();

	(void)state;
	assert_string_equal(file_of(&d, "ledger.v1.WriteService"), "ledger/v1/ledger.proto");
	assert_string_equal(file_of(&d, "ledger.v1.WriteService.Write"), "ledger/v1/ledger.proto");
	assert_string_equal(file_of(&d, "inferadb.ledger.v1.Admin"), "inferadb/ledger/v1/ledger.proto");
	assert_string_equal(file_of(&d, "inferadb.ledger.v1.AppendRequest.client_id"),
			    "inferadb/ledger/v1/ledger.proto");
	assert_string_equal(file_of(&d, "grpc.health.v1.HealthCheckResponse.ServingStatus"),
			    "grpc/health/v1/health.proto");
	/* An enum value lives in the enum's parent scope. */
	assert_string_equal(file_of(&d, "grpc.health.v1.HealthCheckResponse.SERVING"),
			    "grpc/health/v1/health.proto");
	assert_string_equal(file_of(&d, "google.protobuf.NULL_VALUE"), "google/protobuf/struct.proto");
	assert_string_equal(file_of(&d, "grpc.reflection.v1alpha.ServerReflectionRequest.message_request"),
			    "grpc/reflection/v1alpha/reflection.proto");
	/* Near misses are not found: a prefix, a longer name, a package. */
	assert_string_equal(file_of(&d, "ledger.v1.WriteServic"), "(none)");
	assert_string_equal(file_of(&d, "ledger.v1.WriteServiceX"), "(none)");
	assert_string_equal(file_of(&d, "ledger.v1.WriteService.Nope"), "(none)");
	assert_string_equal(file_of(&d, "ledger.v1.WriteService.Write.x"), "(none)");
	assert_string_equal(file_of(&d, "grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING"),
			    "(none)");
	assert_string_equal(file_of(&d, "ledger.v1"), "(none)");
	assert_string_equal(file_of(&d, "ledger.v1."), "(none)");
	assert_string_equal(file_of(&d, ""), "(none)");
	assert_true(ledgerd_descriptors_is_message(&d, "inferadb.ledger.v1.AppendRequest"));
	assert_true(ledgerd_descriptors_is_message(&d, "google.protobuf.Struct.FieldsEntry"));
	assert_false(ledgerd_descriptors_is_message(&d, "inferadb.ledger.v1.Admin"));
	assert_false(ledgerd_descriptors_is_message(&d, "google.protobuf.NullValue"));
	ledgerd_descriptors_release(&d);
}

static void test_closure_is_the_file_then_its_imports(void **state)
{
	struct ledgerd_descriptors d = load_ledger();
	const struct ledgerd_proto_file *out[16];
	size_t n;

	(void)state;
	n = ledgerd_descriptors_closure(out, &d, ledgerd_descriptors_file(&d, "inferadb/ledger/v1/ledger.proto"));
	assert_int_equal(n, 2);
	assert_string_equal(out[0]->name, "inferadb/ledger/v1/ledger.proto");
	assert_string_equal(out[1]->name, "google/protobuf/struct.proto");
	n = ledgerd_descriptors_closure(out, &d, ledgerd_descriptors_file(&d, "ledger/v1/ledger.proto"));
	assert_int_equal(n, 1);
	ledgerd_descriptors_release(&d);
}

/* A set of two proto2 files, b.proto importing a.proto, b declaring two
 * extensions of p.M (one at top level, one inside a message). */
static uint8_t *extension_set(size_t *len)
{
	Google__Protobuf__FileDescriptorProto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__FileDescriptorProto b = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__DescriptorProto m = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__DescriptorProto holder = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__FieldDescriptorProto top = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__FieldDescriptorProto nested = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
	Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
	Google__Protobuf__DescriptorProto *ms[] = { &m }, *hs[] = { &holder };
	Google__Protobuf__FieldDescriptorProto *tops[] = { &top }, *nesteds[] = { &nested };
	Google__Protobuf__FileDescriptorProto *files[] = { &a, &b };
	char *deps[] = { "a.proto" };
	uint8_t *buf;

	a.name = "a.proto";
	a.package = "p";
	m.name = "M";
	a.n_message_type = 1;
	a.message_type = ms;
	b.name = "b.proto";
	b.package = "q";
	b.n_dependency = 1;
	b.dependency = deps;
	top.name = "top";
	top.has_number = 1;
	top.number = 100;
	top.extendee = ".p.M";
	b.n_extension = 1;
	b.extension = tops;
	holder.name = "Holder";
	nested.name = "nested";
	nested.has_number = 1;
	nested.number = 101;
	nested.extendee = ".p.M";
	holder.n_extension = 1;
	holder.extension = nesteds;
	b.n_message_type = 1;
	b.message_type = hs;
	set.n_file = 2;
	set.file = files;
	*len = google__protobuf__file_descriptor_set__get_packed_size(&set);
	buf = malloc(*len);
	google__protobuf__file_descriptor_set__pack(&set, buf);
	return buf;
}

static void test_extensions_are_found_by_extendee_and_number(void **state)
{
	struct ledgerd_descriptors d = LEDGERD_DESCRIPTORS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	const struct ledgerd_proto_file *out[2];
	int32_t numbers[4] = { 0 };
	size_t len;
	uint8_t *set = extension_set(&len);

	(void)state;
	assert_int_equal(ledgerd_descriptors_load(&d, set, len, &err), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(ledgerd_descriptors_extension(&d, "p.M", 100)->name, "b.proto");
	assert_string_equal(ledgerd_descriptors_extension(&d, "p.M", 101)->name, "b.proto");
	assert_null(ledgerd_descriptors_extension(&d, "p.M", 102));
	assert_null(ledgerd_descriptors_extension(&d, "q.Holder", 101));
	assert_int_equal(ledgerd_descriptors_extension_numbers(&d, "p.M", numbers, 4), 2);
	assert_int_equal(numbers[0] + numbers[1], 201);
	assert_int_equal(ledgerd_descriptors_extension_numbers(&d, "p.M", numbers, 1), 2);
	assert_string_equal(file_of(&d, "q.top"), "b.proto");
	assert_string_equal(file_of(&d, "q.Holder.nested"), "b.proto");
	assert_int_equal(ledgerd_descriptors_closure(out, &d, &d.files[1]), 2);
	assert_string_equal(out[1]->name, "a.proto");
	ledgerd_descriptors_release(&d);
	free(set);
}

static void test_a_broken_set_does_not_load(void **state)
{
	struct ledgerd_descriptors d = LEDGERD_DESCRIPTORS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	const uint8_t wrong_field[] = { 0x12, 0x00 };
	const uint8_t cut[] = { 0x0a, 0x05, 0x0a };
	const uint8_t not_a_file[] = { 0x0a, 0x02, 0xff, 0xff };

	(void)state;
	assert_int_equal(ledgerd_descriptors_load(&d, wrong_field, sizeof(wrong_field), &err), -1);
	assert_non_null(strstr(err.msg, "bad record"));
	assert_int_equal(ledgerd_descriptors_load(&d, cut, sizeof(cut), &err), -1);
	assert_int_equal(ledgerd_descriptors_load(&d, not_a_file, sizeof(not_a_file), &err), -1);
	assert_non_null(strstr(err.msg, "does not parse"));
	assert_int_equal(d.n, 0);
	assert_null(d.files);
	/* An empty set is a set of no files. */
	assert_int_equal(ledgerd_descriptors_load(&d, cut, 0, &err), 0);
	assert_int_equal(d.n, 0);
}

/* Ask req, return the unpacked answer (freed by the caller). */
static Grpc__Reflection__V1alpha__ServerReflectionResponse *
ask(const struct ledgerd_descriptors *d, const Grpc__Reflection__V1alpha__ServerReflectionRequest *req)
{
	uint8_t *in = malloc(grpc__reflection__v1alpha__server_reflection_request__get_packed_size(req) + 1);
	size_t n = grpc__reflection__v1alpha__server_reflection_request__pack(req, in), len = 0;
	uint8_t *out = NULL;
	Grpc__Reflection__V1alpha__ServerReflectionResponse *r;

	assert_int_equal(ledgerd_reflection_answer(&out, &len, d, in, n), 0);
	r = grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, len, out);
	assert_non_null(r);
	free(in);
	free(out);
	return r;
}

#define CASE(x) GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define ANSWER(x) GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

static void test_answers(void **state)
{
	struct ledgerd_descriptors d = load_ledger();
	Grpc__Reflection__V1alpha__ServerReflectionRequest req =
		GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
	Grpc__Reflection__V1alpha__ServerReflectionResponse *r;
	Grpc__Reflection__V1alpha__ExtensionRequest ext = GRPC__REFLECTION__V1ALPHA__EXTENSION_REQUEST__INIT;

	(void)state;
	req.host = "h";
	req.message_request_case = CASE(LIST_SERVICES);
	req.list_services = "";
	r = ask(&d, &req);
	assert_int_equal(r->message_response_case, ANSWER(LIST_SERVICES_RESPONSE));
	assert_int_equal(r->list_services_response->n_service, 8);
	assert_string_equal(r->list_services_response->service[0]->name, "inferadb.ledger.v1.Ledger");
	assert_string_equal(r->list_services_response->service[7]->name,
			    "grpc.reflection.v1alpha.ServerReflection");
	assert_string_equal(r->valid_host, "h");
	assert_int_equal(r->original_request->message_request_case, CASE(LIST_SERVICES));
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.message_request_case = CASE(FILE_CONTAINING_SYMBOL);
	req.file_containing_symbol = "inferadb.ledger.v1.Admin.GetClusterStatus";
	r = ask(&d, &req);
	assert_int_equal(r->message_response_case, ANSWER(FILE_DESCRIPTOR_RESPONSE));
	assert_int_equal(r->file_descriptor_response->n_file_descriptor_proto, 2);
	assert_memory_equal(r->file_descriptor_response->file_descriptor_proto[0].data,
			    ledgerd_descriptors_file(&d, "inferadb/ledger/v1/ledger.proto")->data,
			    r->file_descriptor_response->file_descriptor_proto[0].len);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.file_containing_symbol = "inferadb.ledger.v1.Nope";
	r = ask(&d, &req);
	assert_int_equal(r->message_response_case, ANSWER(ERROR_RESPONSE));
	assert_int_equal(r->error_response->error_code, GRPC_STATUS_NOT_FOUND);
	assert_non_null(strstr(r->error_response->error_message, "inferadb.ledger.v1.Nope"));
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.message_request_case = CASE(FILE_BY_FILENAME);
	req.file_by_filename = "nope.proto";
	r = ask(&d, &req);
	assert_int_equal(r->error_response->error_code, GRPC_STATUS_NOT_FOUND);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.message_request_case = CASE(FILE_CONTAINING_EXTENSION);
	req.file_containing_extension = &ext;
	ext.containing_type = "inferadb.ledger.v1.AppendRequest";
	ext.extension_number = 1000;
	r = ask(&d, &req);
	assert_int_equal(r->error_response->error_code, GRPC_STATUS_NOT_FOUND);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.message_request_case = CASE(ALL_EXTENSION_NUMBERS_OF_TYPE);
	req.all_extension_numbers_of_type = "inferadb.ledger.v1.AppendRequest";
	r = ask(&d, &req);
	assert_int_equal(r->message_response_case, ANSWER(ALL_EXTENSION_NUMBERS_RESPONSE));
	assert_string_equal(r->all_extension_numbers_response->base_type_name,
			    "inferadb.ledger.v1.AppendRequest");
	assert_int_equal(r->all_extension_numbers_response->n_extension_number, 0);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);
	req.all_extension_numbers_of_type = "inferadb.ledger.v1.Admin";
	r = ask(&d, &req);
	assert_int_equal(r->error_response->error_code, GRPC_STATUS_NOT_FOUND);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);

	req.message_request_case = CASE(_NOT_SET);
	r = ask(&d, &req);
	assert_int_equal(r->error_response->error_code, GRPC_STATUS_UNIMPLEMENTED);
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);
	ledgerd_descriptors_release(&d);
}

static void test_malformed_request_is_refused(void **state)
{
	struct ledgerd_descriptors d = load_ledger();
	const uint8_t cut[] = { 0x22, 0x7f, 'x' };
	const uint8_t bad_tag[] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ledgerd_reflection_answer(&out, &len, &d, cut, sizeof(cut)), -1);
	assert_int_equal(ledgerd_reflection_answer(&out, &len, &d, bad_tag, sizeof(bad_tag)), -1);
	assert_null(out);
	ledgerd_descriptors_release(&d);
}

/* Found by fuzzing (tests/fuzz/crashes/reflection_request/): protobuf-c
 * skips an unknown field numbered 0 and kept it, and the answer echoed it
 * back in original_request, where no decoder reads it. */
static void test_unknown_fields_are_not_echoed(void **state)
{
	struct ledgerd_descriptors d = load_ledger();
	/* field 0 (varint, written in two bytes), then list_services = "*" */
	const uint8_t req[] = { 0x80, 0x00, 0x00, 0x3a, 0x01, '*' };
	Grpc__Reflection__V1alpha__ServerReflectionResponse *r;
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ledgerd_reflection_answer(&out, &len, &d, req, sizeof(req)), 0);
	r = grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, len, out);
	assert_non_null(r);
	assert_int_equal(r->original_request->message_request_case, CASE(LIST_SERVICES));
	assert_string_equal(r->original_request->list_services, "*");
	assert_int_equal(r->original_request->base.n_unknown_fields, 0);
	assert_int_equal(r->message_response_case, ANSWER(LIST_SERVICES_RESPONSE));
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);
	free(out);
	ledgerd_descriptors_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protoset_has_every_file_with_protocs_bytes),
		cmocka_unit_test(test_symbols_resolve_to_their_file),
		cmocka_unit_test(test_closure_is_the_file_then_its_imports),
		cmocka_unit_test(test_extensions_are_found_by_extendee_and_number),
		cmocka_unit_test(test_a_broken_set_does_not_load),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_malformed_request_is_refused),
		cmocka_unit_test(test_unknown_fields_are_not_echoed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
