/* virt-inject-guestfs: inject a request into a disk image inside the
 * libguestfs appliance.  Run by lib/vi-image.c on a qcow2 overlay (its
 * command line is documented in lib/vi-image.h); not meant to be run by
 * hand.  Speaks vi-child's wire: "stage: NAME" lines on stderr, one JSON
 * object on stdout (the result: the plan, the /.autorelabel flag; or the
 * error), and exits with vi_error_exit_code().
 */
#include <locale.h>
#include <stdio.h>

#include "vi-error.h"
#include "vi-inject.h"
#include "vi-child.h"
#include "vi-spec.h"
#include "vi-vfs-guestfs.h"

static void
print_stage (const char *stage)
{
    vi_child_announce_stage (stage);
}

int
main (int argc, char **argv)
{
    g_autofree char *add = NULL, *format = NULL, *root = NULL, *spec_file = NULL;
    g_autofree char *secrets_dir = NULL, *qemu_object = NULL, *domain_uuid = NULL;
    g_autofree char *record_digest = NULL;
    gint memsize = 0, smp = 1, items_max = VI_LIMITS_DEFAULT_ITEMS_MAX;
    gint64 request_max = VI_LIMITS_DEFAULT_REQUEST_MAX, file_max = VI_LIMITS_DEFAULT_FILE_MAX;
    gboolean force_tcg = FALSE, dry_run = FALSE, record_once = FALSE;
    const GOptionEntry entries[] = {
        { "add", 0, 0, G_OPTION_ARG_FILENAME, &add, "The drive (overlay)", "PATH" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Its format", "FMT" },
        { "root", 0, 0, G_OPTION_ARG_STRING, &root, "Guest root device", "DEVICE" },
        { "memsize", 0, 0, G_OPTION_ARG_INT, &memsize, "Appliance memory (MiB)", "MIB" },
        { "smp", 0, 0, G_OPTION_ARG_INT, &smp, "Appliance vCPUs", "N" },
        { "force-tcg", 0, 0, G_OPTION_ARG_NONE, &force_tcg, "Software emulation", NULL },
        { "qemu-object", 0, 0, G_OPTION_ARG_STRING, &qemu_object,
          "A qemu -object for the appliance (a secret read from a file)", "SPEC" },
        { "secrets-dir", 0, 0, G_OPTION_ARG_FILENAME, &secrets_dir, "Secrets directory", "DIR" },
        { "domain-uuid", 0, 0, G_OPTION_ARG_STRING, &domain_uuid, "The domain's UUID", "UUID" },
        { "request-max", 0, 0, G_OPTION_ARG_INT64, &request_max, "Request size cap", "B" },
        { "file-max", 0, 0, G_OPTION_ARG_INT64, &file_max, "File size cap", "B" },
        { "items-max", 0, 0, G_OPTION_ARG_INT, &items_max, "Item count cap", "N" },
        { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Plan only", NULL },
        { "record-digest", 0, 0, G_OPTION_ARG_STRING, &record_digest, "Its request digest", "HEX" },
        { "record-once", 0, 0, G_OPTION_ARG_NONE, &record_once,
          "A guest record of this domain and digest: nothing to do", NULL },
        { "spec", 0, 0, G_OPTION_ARG_FILENAME, &spec_file, "Canonical request", "FILE" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new ("- virt-inject's libguestfs helper");
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_auto(ViInjectResult) result = { 0 };
    ViLimits limits;
    ViGuestfsOptions gopts = { 0 };
    ViInjectOptions iopts = { 0 };
    ViRecordKey record = { 0 };

    setlocale (LC_ALL, "");
    g_option_context_add_main_entries (ctx, entries, NULL);
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        goto fail;
    if (add == NULL || format == NULL || spec_file == NULL) {
        vi_throw (&error, VI_ERROR_INVALID, "--add, --format and --spec are required");
        goto fail;
    }
    limits.request_max = request_max;
    limits.file_max = file_max;
    limits.items_max = items_max;
    spec = vi_spec_parse_file (spec_file, &limits, &error);
    if (spec == NULL)
        goto fail;

    gopts.path = add;
    gopts.format = format;
    gopts.root = root;
    gopts.memsize = memsize;
    gopts.smp = smp;
    gopts.force_tcg = force_tcg;
    gopts.readonly = dry_run;
    gopts.qemu_object = qemu_object;
    vfs = vi_vfs_guestfs_open (&gopts, print_stage, &error);
    if (vfs == NULL)
        goto fail;

    print_stage ("write");
    iopts.secrets_dir = secrets_dir;
    iopts.domain_uuid = domain_uuid;
    record.digest = record_digest;
    record.once = record_once;
    iopts.record = &record;
    if (!vi_inject (spec, vfs, &iopts, dry_run, &result, &error))
        goto fail;
    print_stage ("shutdown");
    if (!vi_vfs_guestfs_shutdown (vfs, &error))
        goto fail;
    return vi_child_finish ("virt-inject-guestfs", TRUE, &result, NULL);

fail:
    return vi_child_finish ("virt-inject-guestfs", FALSE, NULL, error);
}
