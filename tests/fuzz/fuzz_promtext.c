/* Fuzz the Prometheus text parser (assertions/promtext.h) used by `metric`
 * probes.  The first line is "<metric name> <label filter>", the rest the
 * exposition text: parse it, then look the metric up both through the
 * parsed document and through promtext_find (which parses again). */
#include <stdio.h>

#include "assertions/promtext.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_doc doc = PROM_DOC_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct prom_label *labels = NULL;
	size_t nlabels = 0;
	const uint8_t *rest;
	size_t rest_len;
	char *head = fuzz_split_line(data, size, &rest, &rest_len);
	char *text = fuzz_strndup(rest, rest_len);
	char *sp = strchr(head, ' ');
	const char *filter = "";
	double v;

	if (sp) {
		*sp = '\0';
		filter = sp + 1;
	}
	if (promtext_parse_filter(&labels, &nlabels, filter, &err) == 0)
		promtext_labels_free(labels, nlabels);
	if (promtext_parse(&doc, text, rest_len, &err) == 0) {
		for (size_t i = 0; i < doc.count; i++)
			if (!doc.samples[i].name || doc.samples[i].line == 0)
				abort();
		(void)promtext_doc_find(&v, &doc, head, filter, &err);
		promtext_release(&doc);
	} else if (doc.count != 0 || err.msg[0] == '\0') {
		fprintf(stderr, "promtext_parse failed but left samples or no message\n");
		abort();
	}
	(void)promtext_find(&v, text, head, filter, &err);
	free(text);
	free(head);
	return 0;
}
