/* test-domain.c: target choice for every disk and filesystem kind. */
#include <string.h>

#include "vi-domain.h"
#include "vi-error.h"

typedef struct {
    const char *name;
    const char *type;           /* domain type */
    const char *devices;        /* inside <devices> */
    const char *extra;          /* after <devices> (idmap) */
    const char *target_disk;    /* <vi:target disk=> */
    gboolean resolver;
    /* expected */
    const char *error;          /* substring, or NULL */
    ViTargetKind kind;
    const char *path;
    const char *format;
} Case;

#define FILE_DISK(dev, fmt, path) "<disk type='file' device='disk'><driver name='qemu' type='" fmt "'/><source file='" path "'/><target dev='" dev "'/></disk>"

static const Case cases[] = {
    { "qcow2", "qemu", FILE_DISK ("vda", "qcow2", "/img/a.qcow2"), "", NULL, FALSE, NULL, VI_TARGET_IMAGE, "/img/a.qcow2", "qcow2" },
    { "kvm-raw", "kvm", FILE_DISK ("vda", "raw", "/img/a.raw"), "", NULL, FALSE, NULL, VI_TARGET_IMAGE, "/img/a.raw", "raw" },
    { "no-driver-type", "kvm", "<disk type='file' device='disk'><source file='/img/a'/><target dev='vda'/></disk>", "", NULL, FALSE, "CVE-2010-3851", 0, NULL, NULL },
    { "block", "kvm", "<disk type='block' device='disk'><source dev='/dev/vg/lv'/><target dev='vda'/></disk>", "", NULL, FALSE, NULL, VI_TARGET_IMAGE, "/dev/vg/lv", "raw" },
    { "skip-cdrom-readonly-shareable-transient", "kvm",
      "<disk type='file' device='cdrom'><driver type='raw'/><source file='/iso'/><target dev='sda'/><readonly/></disk>"
      "<disk type='file' device='disk'><driver type='raw'/><source file='/ro'/><target dev='vda'/><readonly/></disk>"
      "<disk type='file' device='disk'><driver type='raw'/><source file='/sh'/><target dev='vdb'/><shareable/></disk>"
      "<disk type='file' device='disk'><driver type='raw'/><source file='/tr'/><target dev='vdc'/><transient/></disk>"
      FILE_DISK ("vdd", "qcow2", "/img/ok"), "", NULL, FALSE, NULL, VI_TARGET_IMAGE, "/img/ok", "qcow2" },
    { "target-disk", "kvm", FILE_DISK ("vda", "qcow2", "/img/a") FILE_DISK ("vdb", "raw", "/img/b"), "", "vdb", FALSE, NULL, VI_TARGET_IMAGE, "/img/b", "raw" },
    { "target-disk-missing", "kvm", FILE_DISK ("vda", "qcow2", "/img/a"), "", "vdz", FALSE, "no disk with target dev='vdz'", 0, NULL, NULL },
    { "no-disk", "kvm", "", "", NULL, FALSE, "no writable disk", 0, NULL, NULL },
    { "nbd-tcp", "kvm", "<disk type='network' device='disk'><driver type='raw'/><source protocol='nbd' name='exp'><host name='127.0.0.1' port='10809'/></source><target dev='vda'/></disk>", "", NULL, FALSE, NULL, VI_TARGET_IMAGE, "exp", "raw" },
    { "nbd-unix", "kvm", "<disk type='network' device='disk'><driver type='qcow2'/><source protocol='nbd'><host transport='unix' socket='/run/n.sock'/></source><target dev='vda'/></disk>", "", NULL, FALSE, NULL, VI_TARGET_IMAGE, NULL, "qcow2" },
    { "rbd-auth-hook", "kvm", "<disk type='network' device='disk'><driver type='raw'/><source protocol='rbd' name='pool/img'><host name='mon'/><auth username='admin'><secret type='ceph' uuid='0b5e6a1c-2d3f-4a5b-8c9d-0e1f2a3b4c5d'/></auth></source><target dev='vda'/></disk>", "", NULL, FALSE, "libvirt secret", 0, NULL, NULL },
    { "rbd-auth-resolved", "kvm", "<disk type='network' device='disk'><driver type='raw'/><source protocol='rbd' name='pool/img'><host name='mon'/><auth username='admin'><secret type='ceph' uuid='0b5e6a1c-2d3f-4a5b-8c9d-0e1f2a3b4c5d'/></auth></source><target dev='vda'/></disk>", "", NULL, TRUE, NULL, VI_TARGET_IMAGE, "pool/img", "raw" },
    { "volume-hook", "kvm", "<disk type='volume' device='disk'><driver type='qcow2'/><source pool='default' volume='v1'/><target dev='vda'/></disk>", "", NULL, FALSE, "storage volume", 0, NULL, NULL },
    { "volume-resolved", "kvm", "<disk type='volume' device='disk'><source pool='default' volume='v1'/><target dev='vda'/></disk>", "", NULL, TRUE, NULL, VI_TARGET_IMAGE, "/pool/default/v1", "qcow2" },
    { "xen", "xen", FILE_DISK ("xvda", "raw", "/a"), "", NULL, FALSE, "only qemu, kvm and lxc", 0, NULL, NULL },
    { "lxc-mount", "lxc", "<filesystem type='mount'><source dir='/srv/ct/root'/><target dir='/'/></filesystem>", "", NULL, FALSE, NULL, VI_TARGET_ROOTFS_DIR, "/srv/ct/root", NULL },
    { "lxc-loop", "lxc", "<filesystem type='file'><driver type='loop' format='raw'/><source file='/img/ct.raw'/><target dir='/'/></filesystem>", "", NULL, FALSE, NULL, VI_TARGET_ROOTFS_IMAGE, "/img/ct.raw", "raw" },
    { "lxc-nbd", "lxc", "<filesystem type='file'><driver type='nbd' format='qcow2'/><source file='/img/ct.qcow2'/><target dir='/'/></filesystem>", "", NULL, FALSE, NULL, VI_TARGET_ROOTFS_IMAGE, "/img/ct.qcow2", "qcow2" },
    { "lxc-nbd-noformat", "lxc", "<filesystem type='file'><driver type='nbd'/><source file='/img/ct.qcow2'/><target dir='/'/></filesystem>", "", NULL, FALSE, "never probes", 0, NULL, NULL },
    { "lxc-block", "lxc", "<filesystem type='block'><source dev='/dev/vg/ct'/><target dir='/'/></filesystem>", "", NULL, FALSE, NULL, VI_TARGET_ROOTFS_IMAGE, "/dev/vg/ct", "raw" },
    { "lxc-no-root", "lxc", "<filesystem type='mount'><source dir='/srv/data'/><target dir='/data'/></filesystem>", "", NULL, FALSE, "host's own '/'", 0, NULL, NULL },
    { "lxc-host-root", "lxc", "<filesystem type='mount'><source dir='/'/><target dir='/'/></filesystem>", "", NULL, FALSE, "host's '/'", 0, NULL, NULL },
    { "lxc-target-disk", "lxc", "<filesystem type='mount'><source dir='/srv/ct'/><target dir='/'/></filesystem>", "", "vda", FALSE, "does not apply to an LXC", 0, NULL, NULL },
};

static gboolean
fake_volume (gpointer opaque, const char *pool, const char *volume, char **out_path,
             char **out_format, gboolean *out_is_block, GError **error)
{
    *out_path = g_strdup_printf ("/pool/%s/%s", pool, volume);
    *out_format = g_strdup ("qcow2");
    *out_is_block = FALSE;
    return TRUE;
}

static gboolean
fake_secret (gpointer opaque, const char *type, const char *uuid, const char *usage,
             char **out_value, GError **error)
{
    g_assert_cmpstr (type, ==, "ceph");
    *out_value = g_strdup ("c2VjcmV0");
    return TRUE;
}

static void
test_case (gconstpointer data)
{
    const Case *c = data;
    g_autofree char *xml = g_strdup_printf (
        "<domain type='%s'><name>d1</name><uuid>8C0D2F4E-6A57-4B0E-9D7E-3F1A2B3C4D5E</uuid>"
        "<devices>%s</devices>%s</domain>", c->type, c->devices, c->extra);
    ViDomainResolver resolver = { fake_volume, fake_secret, NULL };
    g_autoptr(GError) error = NULL;
    g_autoptr(ViDomain) dom = vi_domain_parse (xml, strlen (xml), NULL, &error);
    g_autoptr(ViSpec) spec = vi_spec_new ();
    g_autoptr(ViTarget) t = NULL;

    if (dom == NULL) {
        g_assert_nonnull (c->error);
        g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
        g_assert_nonnull (strstr (error->message, c->error));
        return;
    }
    g_assert_cmpstr (dom->name, ==, "d1");
    g_assert_cmpstr (dom->uuid, ==, "8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e");
    spec->target_disk = g_strdup (c->target_disk);
    t = vi_domain_choose_target (dom, spec, c->resolver ? &resolver : NULL, &error);
    if (c->error) {
        g_assert_null (t);
        g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
        if (strstr (error->message, c->error) == NULL)
            g_error ("%s: '%s' lacks '%s'", c->name, error->message, c->error);
        return;
    }
    g_assert_no_error (error);
    g_assert_cmpint (t->kind, ==, c->kind);
    g_assert_cmpstr (t->path, ==, c->path);
    g_assert_cmpstr (t->format, ==, c->format);
    g_assert_cmpstr (t->domain_uuid, ==, "8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e");   /* <identity> */
    if (g_str_equal (c->name, "rbd-auth-resolved"))
        g_assert_cmpstr (t->secret, ==, "c2VjcmV0");
    if (g_str_equal (c->name, "nbd-unix"))
        g_assert_cmpstr (t->servers->pdata[0], ==, "unix:/run/n.sock");
    if (g_str_equal (c->name, "nbd-tcp"))
        g_assert_cmpstr (t->servers->pdata[0], ==, "tcp:127.0.0.1:10809");
}

static void
test_idmap (void)
{
    const char *xml = "<domain type='lxc'><name>c</name><devices><filesystem type='mount'>"
                      "<source dir='/ct'/><target dir='/'/></filesystem></devices>"
                      "<idmap><uid start='0' target='100000' count='1000'/>"
                      "<gid start='0' target='200000' count='10'/></idmap></domain>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViDomain) dom = vi_domain_parse (xml, strlen (xml), NULL, &error);
    g_autoptr(ViTarget) t = vi_domain_choose_target (dom, NULL, NULL, &error);
    guint32 host = 0;

    g_assert_no_error (error);
    g_assert_nonnull (t->idmap);
    g_assert_true (vi_idmap_to_host (t->idmap, FALSE, 42, &host, &error));
    g_assert_cmpuint (host, ==, 100042);
    g_assert_true (vi_idmap_to_host (t->idmap, TRUE, 9, &host, &error));
    g_assert_cmpuint (host, ==, 200009);
    g_assert_false (vi_idmap_to_host (t->idmap, TRUE, 10, &host, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpuint (vi_idmap_to_guest (t->idmap, FALSE, 100042), ==, 42);
    g_assert_cmpuint (vi_idmap_to_guest (t->idmap, FALSE, 5), ==, 65534);
}

/* A map whose target range passes 2^32 would wrap guest ids around to
 * host uid 0: refused.  The positive control: the largest range that ends
 * exactly at 2^32 - 1 is accepted and maps its last id there. */
static void
test_idmap_wrap (void)
{
    static const char *const maps[] = {
        "<uid start='0' target='4294967295' count='2'/>",
        "<uid start='0' target='4294900000' count='100000'/>",
        "<gid start='4294967290' target='1000' count='10'/>",
        "<uid start='0' target='4294967286' count='10'/>",      /* the control */
    };

    for (gsize i = 0; i < G_N_ELEMENTS (maps); i++) {
        g_autofree char *xml = g_strdup_printf (
            "<domain type='lxc'><name>c</name><devices><filesystem type='mount'>"
            "<source dir='/ct'/><target dir='/'/></filesystem></devices>"
            "<idmap>%s</idmap></domain>", maps[i]);
        g_autoptr(GError) error = NULL;
        g_autoptr(ViDomain) dom = vi_domain_parse (xml, strlen (xml), NULL, &error);
        g_autoptr(ViTarget) t = NULL;
        guint32 host = 0;

        g_assert_no_error (error);
        t = vi_domain_choose_target (dom, NULL, NULL, &error);
        if (i + 1 < G_N_ELEMENTS (maps)) {
            g_assert_null (t);
            g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
            g_assert_nonnull (strstr (error->message, "would wrap around to 0"));
            continue;
        }
        g_assert_no_error (error);
        g_assert_true (vi_idmap_to_host (t->idmap, FALSE, 9, &host, &error));
        g_assert_cmpuint (host, ==, G_MAXUINT32);
    }
}

static void
test_examples (void)
{
    const char *names[] = { "qemu-domain.xml", "lxc-domain.xml" };

    for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
        g_autofree char *path = g_build_filename (g_getenv ("VIRT_INJECT_SOURCE_ROOT"), "xml",
                                                  "examples", names[i], NULL);
        g_autofree char *data = NULL;
        gsize len;
        g_autoptr(GError) error = NULL;
        g_autoptr(ViDomain) dom = NULL;
        g_autoptr(ViSpec) spec = NULL;
        g_autoptr(ViTarget) t = NULL;

        g_assert_true (g_file_get_contents (path, &data, &len, NULL));
        dom = vi_domain_parse (data, len, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (dom->inject);
        spec = vi_spec_from_node (dom->inject, NULL, &error);
        g_assert_no_error (error);
        t = vi_domain_choose_target (dom, spec, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (t->kind, ==, i == 0 ? VI_TARGET_IMAGE : VI_TARGET_ROOTFS_DIR);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/domain/%s", cases[i].name);
        g_test_add_data_func (path, &cases[i], test_case);
    }
    g_test_add_func ("/domain/idmap", test_idmap);
    g_test_add_func ("/domain/idmap-wrap", test_idmap_wrap);
    g_test_add_func ("/domain/examples", test_examples);
    return g_test_run ();
}
