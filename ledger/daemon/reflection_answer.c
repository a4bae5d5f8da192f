/* One reflection request, one response (ledger/daemon/reflection.h): no
 * gRPC here, only the descriptors and the method table, so tests can ask
 * without a server.  Answers follow gRPC's own servers (C++
 * ProtoServerReflection, grpc-go): a file comes with every file it imports,
 * itself first; what is not found is NOT_FOUND in an error_response and
 * the stream goes on; a request with nothing set is UNIMPLEMENTED. */
#include "ledger/daemon/reflection.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "common/strbuf.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "ledger/client/methods.h"

#define REQ(x) GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP(x) GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

typedef Grpc__Reflection__V1alpha__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1alpha__ServerReflectionResponse refl_response;

/* Everything a response points to, freed once it is packed; the
 * descriptor bytes themselves are the index's. */
struct scratch {
	Grpc__Reflection__V1alpha__FileDescriptorResponse files;
	Grpc__Reflection__V1alpha__ListServiceResponse list;
	Grpc__Reflection__V1alpha__ExtensionNumberResponse numbers;
	Grpc__Reflection__V1alpha__ErrorResponse error;
	ProtobufCBinaryData *blobs;
	const struct ledgerd_proto_file **closure;
	Grpc__Reflection__V1alpha__ServiceResponse *services;
	Grpc__Reflection__V1alpha__ServiceResponse **service_ptrs;
	char *message;
};

/* message is heap; the scratch frees it once the response is packed. */
static void answer_error(refl_response *r, struct scratch *s, grpc_status_code code, char *message)
{
	s->error.error_code = (int32_t)code;
	s->error.error_message = message;
	s->message = message;
	r->message_response_case = RESP(ERROR_RESPONSE);
	r->error_response = &s->error;
}

/* f and the files it imports. */
static void answer_file(refl_response *r, struct scratch *s, const struct ledgerd_descriptors *d,
			const struct ledgerd_proto_file *f)
{
	size_t n;

	s->closure = xcalloc(d->n, sizeof(*s->closure));
	s->blobs = xcalloc(d->n, sizeof(*s->blobs));
	n = ledgerd_descriptors_closure(s->closure, d, f);
	for (size_t i = 0; i < n; i++) {
		s->blobs[i].data = (uint8_t *)s->closure[i]->data;
		s->blobs[i].len = s->closure[i]->len;
	}
	s->files.n_file_descriptor_proto = n;
	s->files.file_descriptor_proto = s->blobs;
	r->message_response_case = RESP(FILE_DESCRIPTOR_RESPONSE);
	r->file_descriptor_response = &s->files;
}

/* Every service of the method table, once, in its order, then this one. */
static void answer_services(refl_response *r, struct scratch *s)
{
	size_t nm, n = 0;
	const struct ledger_method *m = ledger_methods(&nm);

	s->services = xcalloc(nm + 1, sizeof(*s->services));
	s->service_ptrs = xcalloc(nm + 1, sizeof(*s->service_ptrs));
	for (size_t i = 0; i <= nm; i++) {
		const char *name = i < nm ? m[i].service->name
					  : grpc__reflection__v1alpha__server_reflection__descriptor.name;
		size_t k = 0;

		while (k < n && strcmp(s->services[k].name, name) != 0)
			k++;
		if (k < n)
			continue;
		grpc__reflection__v1alpha__service_response__init(&s->services[n]);
		s->services[n].name = (char *)name;
		s->service_ptrs[n] = &s->services[n];
		n++;
	}
	s->list.n_service = n;
	s->list.service = s->service_ptrs;
	r->message_response_case = RESP(LIST_SERVICES_RESPONSE);
	r->list_services_response = &s->list;
}

static void answer_extension_numbers(refl_response *r, struct scratch *s,
				     const struct ledgerd_descriptors *d, const char *type)
{
	size_t n;
	int32_t *numbers;

	if (!ledgerd_descriptors_is_message(d, type)) {
		answer_error(r, s, GRPC_STATUS_NOT_FOUND, xasprintf("type '%s' not found", type));
		return;
	}
	n = ledgerd_descriptors_extension_numbers(d, type, NULL, 0);
	numbers = xcalloc(n + 1, sizeof(*numbers));
	ledgerd_descriptors_extension_numbers(d, type, numbers, n);
	s->numbers.base_type_name = (char *)type;
	s->numbers.n_extension_number = n;
	s->numbers.extension_number = numbers;
	r->message_response_case = RESP(ALL_EXTENSION_NUMBERS_RESPONSE);
	r->all_extension_numbers_response = &s->numbers;
}

/* The request as understood, for original_request.  Not req itself:
 * protobuf-c keeps the unknown fields it skipped, field number 0 among them,
 * and would write them back where no decoder reads them. */
static void echo_request(refl_request *echo, Grpc__Reflection__V1alpha__ExtensionRequest *ext,
			 const refl_request *req)
{
	grpc__reflection__v1alpha__server_reflection_request__init(echo);
	grpc__reflection__v1alpha__extension_request__init(ext);
	echo->host = req->host;
	echo->message_request_case = req->message_request_case;
	switch (req->message_request_case) {
	case REQ(FILE_BY_FILENAME):
		echo->file_by_filename = req->file_by_filename;
		break;
	case REQ(FILE_CONTAINING_SYMBOL):
		echo->file_containing_symbol = req->file_containing_symbol;
		break;
	case REQ(FILE_CONTAINING_EXTENSION):
		if (req->file_containing_extension) {
			ext->containing_type = req->file_containing_extension->containing_type;
			ext->extension_number = req->file_containing_extension->extension_number;
		}
		echo->file_containing_extension = ext;
		break;
	case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
		echo->all_extension_numbers_of_type = req->all_extension_numbers_of_type;
		break;
	case REQ(LIST_SERVICES):
		echo->list_services = req->list_services;
		break;
	default:
		echo->message_request_case = REQ(_NOT_SET);
		break;
	}
}

int ledgerd_reflection_answer(uint8_t **out, size_t *out_len, const struct ledgerd_descriptors *d,
			      const uint8_t *data, size_t len)
{
	refl_request *req = grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, len, data);
	refl_response r = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
	refl_request echo;
	Grpc__Reflection__V1alpha__ExtensionRequest echo_ext;
	struct scratch s;
	const Grpc__Reflection__V1alpha__ExtensionRequest *ext;
	const struct ledgerd_proto_file *f = NULL;
	char *missing = NULL;

	if (!req)
		return -1;
	memset(&s, 0, sizeof(s));
	grpc__reflection__v1alpha__file_descriptor_response__init(&s.files);
	grpc__reflection__v1alpha__list_service_response__init(&s.list);
	grpc__reflection__v1alpha__extension_number_response__init(&s.numbers);
	grpc__reflection__v1alpha__error_response__init(&s.error);
	echo_request(&echo, &echo_ext, req);
	r.valid_host = req->host;
	r.original_request = &echo;
	switch (req->message_request_case) {
	case REQ(FILE_BY_FILENAME):
		f = ledgerd_descriptors_file(d, req->file_by_filename);
		if (!f)
			missing = xasprintf("file '%s' not found", req->file_by_filename);
		break;
	case REQ(FILE_CONTAINING_SYMBOL):
		f = ledgerd_descriptors_symbol(d, req->file_containing_symbol);
		if (!f)
			missing = xasprintf("symbol '%s' not found", req->file_containing_symbol);
		break;
	case REQ(FILE_CONTAINING_EXTENSION):
		ext = req->file_containing_extension;
		f = ext ? ledgerd_descriptors_extension(d, ext->containing_type, ext->extension_number)
			: NULL;
		if (!f)
			missing = xasprintf("extension %d of '%s' not found",
					    ext ? ext->extension_number : 0,
					    ext ? ext->containing_type : "");
		break;
	case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
		answer_extension_numbers(&r, &s, d, req->all_extension_numbers_of_type);
		break;
	case REQ(LIST_SERVICES):
		answer_services(&r, &s);
		break;
	default:
		answer_error(&r, &s, GRPC_STATUS_UNIMPLEMENTED,
			     xstrdup("the request asks for nothing this server knows"));
		break;
	}
	if (f)
		answer_file(&r, &s, d, f);
	else if (missing)
		answer_error(&r, &s, GRPC_STATUS_NOT_FOUND, missing);
	*out_len = protobuf_c_message_get_packed_size(&r.base);
	*out = xmalloc(*out_len ? *out_len : 1);
	protobuf_c_message_pack(&r.base, *out);
	free(s.blobs);
	free(s.closure);
	free(s.services);
	free(s.service_ptrs);
	free(s.numbers.extension_number);
	free(s.message);
	grpc__reflection__v1alpha__server_reflection_request__free_unpacked(req, NULL);
	return 0;
}
