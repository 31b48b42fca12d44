/* test-spec.c: the request parser: every accept and reject rule, the
 * canonical round trip, the digest, merging and finding the request in a
 * domain. */
#include <string.h>

#include "vi-error.h"
#include "vi-spec.h"
#include "vi-xml.h"

#define NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
#define KEY_ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop"
#define KEY_ED2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2z5O3bb1k3QGw7+0dH4j3b9bHc2cV3o6DQ0pO2xj5T bob"
#define HASH6 "$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy."

typedef struct {
    const char *name;
    const char *body;       /* inside <vi:inject ...> */
    const char *attrs;      /* attributes of <vi:inject> */
    const char *error;      /* NULL: valid; else a substring of the message */
} Case;

static const Case cases[] = {
    /* accepted */
    { "empty", "", "", NULL },
    { "ssh-key", "<vi:user name='root'><vi:ssh-key>" KEY_ED "</vi:ssh-key></vi:user>", "", NULL },
    { "ssh-key-padded", "<vi:user name='root'><vi:ssh-key>\n   " KEY_ED "\n  </vi:ssh-key></vi:user>", "", NULL },
    { "ssh-key-options-allowed", "<vi:user name='root'><vi:ssh-key allow-options='yes'>no-pty " KEY_ED "</vi:ssh-key></vi:user>", "", NULL },
    { "hash6", "<vi:user name='root'><vi:password hash='" HASH6 "'/></vi:user>", "", NULL },
    { "secret", "<vi:user name='root'><vi:password secret='web1-root'/></vi:user>", "", NULL },
    { "locked", "<vi:user name='root'><vi:password locked='yes'/></vi:user>", "", NULL },
    { "policy-always", "", "policy='always' on-error='warn'", NULL },
    { "keep-dropped", "", "keep-dropped='yes'", NULL },
    { "keep-dropped-no", "", "keep-dropped='no'", NULL },
    { "hostname-fqdn", "<vi:hostname>web1.example.com</vi:hostname>", "", NULL },
    { "file-text", "<vi:file path='/etc/motd' mode='0644' owner='root' group='0'>hi&#10;</vi:file>", "", NULL },
    { "file-b64", "<vi:file path='/bin/x' encoding='base64'>IyEvYmluL3No\n  Cg==</vi:file>", "", NULL },
    { "mode-3digits", "<vi:directory path='/srv' mode='755'/>", "", NULL },
    { "network", "<vi:network><vi:interface name='eth0' mac='52:54:00:AB:cd:EF'><vi:address>192.0.2.10/24</vi:address><vi:address>2001:db8::1/64</vi:address><vi:gateway>192.0.2.1</vi:gateway><vi:gateway>2001:db8::ffff</vi:gateway><vi:nameserver>192.0.2.53</vi:nameserver></vi:interface></vi:network>", "", NULL },
    { "dhcp", "<vi:network renderer='netplan'><vi:interface name='eth1'><vi:dhcp/></vi:interface></vi:network>", "", NULL },
    { "dhcp-gateway6", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:address>2001:db8::10/64</vi:address><vi:gateway>2001:db8::1</vi:gateway></vi:interface></vi:network>", "", NULL },
    { "routes", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:address>2001:db8::10/64</vi:address><vi:route to='198.51.100.0/24' via='192.0.2.254' metric='100'/><vi:route to='198.51.100.0/24' via='192.0.2.253' metric='200'/><vi:route to='0.0.0.0/0' via='192.0.2.1' metric='0'/><vi:route to='::/0' via='2001:db8::1' metric='4294967295'/><vi:mtu>1280</vi:mtu><vi:search>example.com</vi:search><vi:search>b.example</vi:search></vi:interface></vi:network>", "", NULL },
    { "route-dhcp", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:route to='198.51.100.0/24' via='10.0.2.254'/><vi:mtu>68</vi:mtu></vi:interface></vi:network>", "", NULL },
    { "mtu-max", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:mtu> 65535 </vi:mtu></vi:interface></vi:network>", "", NULL },
    { "meta", "<vi:meta key='role'>web</vi:meta><vi:meta key='x'>y</vi:meta>", "", NULL },
    { "selinux", "<vi:selinux relabel='yes'/>", "", NULL },
    { "target", "<vi:target disk='vdb' root='/dev/sda2'/>", "", NULL },
    { "user-create", "<vi:user name='bob' create='yes' uid='1500' group='bob' groups='adm,audio' shell='/bin/bash' home='/home/bob'><vi:sudo/></vi:user>", "", NULL },
    { "user-create-minimal", "<vi:user name='bob' create='yes'/>", "", NULL },
    { "user-sudo-nopasswd", "<vi:user name='_apt-x$'><vi:sudo nopasswd='yes'/></vi:user>", "", NULL },
    { "user-dot-no-sudo", "<vi:user name='j.doe' create='yes'/>", "", NULL },
    { "user-existing-root", "<vi:user name='root' uid='0' group='0'/>", "", NULL },
    { "identity", "<vi:identity reset='yes'/>", "", NULL },
    { "identity-no", "<vi:identity reset='no'/>", "", NULL },
    { "firstboot", "<vi:firstboot>#!/bin/sh\necho hi &gt; /root/fb</vi:firstboot>", "policy='always'", NULL },
    { "firstboot-b64", "<vi:firstboot encoding='base64'>IyEvYmluL3No\n CmVjaG8gaGkK</vi:firstboot>", "", NULL },

    /* rejected: structure */
    { "unknown-element", "<vi:bogus/>", "", "unknown child element <bogus>" },
    { "unknown-attr", "<vi:hostname foo='1'>h</vi:hostname>", "", "unknown attribute 'foo'" },
    { "foreign-child", "<x:y xmlns:x='urn:x'/>", "", "not in the virt-inject namespace" },
    { "bad-policy", "", "policy='sometimes'", "policy" },
    { "bad-on-error", "", "on-error='ignore'", "on-error" },
    { "bad-keep-dropped", "", "keep-dropped='true'", "keep-dropped" },
    /* rejected: users */
    { "user-create-uid0", "<vi:user name='bob' create='yes' uid='0'/>", "", "may not have uid 0" },
    { "user-create-gid0", "<vi:user name='bob' create='yes' group='0'/>", "", "may not have gid 0" },
    { "user-create-badname", "<vi:user name='Bob' create='yes'/>", "", "is not a login name" },
    { "user-create-digit", "<vi:user name='1bob' create='yes'/>", "", "is not a login name" },
    { "user-uid-text", "<vi:user name='bob' uid='x'/>", "", "uid" },
    { "user-uid-negative", "<vi:user name='bob' uid='-1'/>", "", "uid" },
    { "user-bad-create", "<vi:user name='bob' create='maybe'/>", "", "create" },
    { "user-groups-empty", "<vi:user name='bob' groups='adm,,audio'/>", "", "'groups'" },
    { "user-group-colon", "<vi:user name='bob' group='a:b'/>", "", "'group'" },
    { "user-shell-relative", "<vi:user name='bob' shell='bash'/>", "", "'shell'" },
    { "user-home-root", "<vi:user name='bob' home='/'/>", "", "'home'" },
    { "user-home-dotdot", "<vi:user name='bob' home='/home/../etc'/>", "", "'home'" },
    { "user-sudo-dot", "<vi:user name='j.doe'><vi:sudo/></vi:user>", "", "contains '.'" },
    { "user-sudo-twice", "<vi:user name='bob'><vi:sudo/><vi:sudo/></vi:user>", "", "sudo" },
    { "user-sudo-attr", "<vi:user name='bob'><vi:sudo all='yes'/></vi:user>", "", "all" },
    /* rejected: paths */
    { "relative-path", "<vi:file path='etc/motd'>x</vi:file>", "", "not an absolute path" },
    { "dotdot-path", "<vi:file path='/etc/../shadow'>x</vi:file>", "", "'..' component" },
    { "dot-path", "<vi:directory path='/srv/./app'/>", "", "'.' component" },
    { "ctrl-path", "<vi:file path='/etc/mo&#9;td'>x</vi:file>", "", "control character" },
    { "newline-path", "<vi:file path='/etc/mo&#10;td'>x</vi:file>", "", "control character" },
    { "double-slash", "<vi:file path='/etc//motd'>x</vi:file>", "", "not normalized" },
    { "trailing-slash", "<vi:directory path='/srv/'/>", "", "ends with '/'" },
    { "root-path", "<vi:directory path='/'/>", "", "root itself" },
    { "same-path-twice", "<vi:file path='/a'>x</vi:file><vi:file path='/a'>y</vi:file>", "", "given twice" },
    { "file-and-dir", "<vi:directory path='/a'/><vi:file path='/a'>y</vi:file>", "", "given twice" },
    /* rejected: keys */
    { "key-newline", "<vi:user name='root'><vi:ssh-key>" "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E&#10;ssh-rsa AAAA x" "</vi:ssh-key></vi:user>", "", "one line" },
    { "key-type", "<vi:user name='root'><vi:ssh-key>ssh-foo AAAA x</vi:ssh-key></vi:user>", "", "unknown SSH key type" },
    { "key-b64", "<vi:user name='root'><vi:ssh-key>ssh-ed25519 AA!A x</vi:ssh-key></vi:user>", "", "not valid base64" },
    { "key-mismatch", "<vi:user name='root'><vi:ssh-key>ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E</vi:ssh-key></vi:user>", "", "does not match its type" },
    { "key-options", "<vi:user name='root'><vi:ssh-key>command=\"/bin/sh\" " KEY_ED "</vi:ssh-key></vi:user>", "", "options" },
    { "key-dsa", "<vi:user name='root'><vi:ssh-key>ssh-dss AAAAB3NzaC1kc3M= x</vi:ssh-key></vi:user>", "", "DSA" },
    /* rejected: passwords */
    { "hash-colon", "<vi:user name='root'><vi:password hash='$6$abc:def$ghijklmnopqrstuvwxyz'/></vi:user>", "", "':'" },
    { "hash-newline", "<vi:user name='root'><vi:password hash='$6$abcdef$ghij&#10;klmnopqrstuvwxyz'/></vi:user>", "", "newline" },
    { "hash-md5", "<vi:user name='root'><vi:password hash='$1$abcdefgh$ijklmnopqrstuvwxyz0123'/></vi:user>", "", "MD5" },
    { "hash-des", "<vi:user name='root'><vi:password hash='abJnggxhB/yWI'/></vi:user>", "", "DES" },
    { "hash-clear", "<vi:user name='root'><vi:password hash='hunter2'/></vi:user>", "", "clear-text" },
    { "clear-attr", "<vi:user name='root'><vi:password clear='hunter2'/></vi:user>", "", "clear-text passwords are not allowed" },
    { "clear-text", "<vi:user name='root'><vi:password>hunter2</vi:password></vi:user>", "", "clear-text passwords are not allowed" },
    { "secret-slash", "<vi:user name='root'><vi:password secret='../etc/shadow'/></vi:user>", "", "must not contain '/'" },
    { "locked-no", "<vi:user name='root'><vi:password locked='no'/></vi:user>", "", "schema" },
    { "two-passwords", "<vi:user name='root'><vi:password locked='yes'/><vi:password secret='x'/></vi:user>", "", "Extra element password" },
    /* rejected: names, modes */
    { "mode-8", "<vi:file path='/a' mode='0800'>x</vi:file>", "", "octal" },
    { "mode-5digits", "<vi:file path='/a' mode='07777'>x</vi:file>", "", "octal" },
    { "mode-word", "<vi:file path='/a' mode='rw'>x</vi:file>", "", "octal" },
    { "owner-colon", "<vi:file path='/a' owner='ro:ot'>x</vi:file>", "", "':'" },
    { "group-ctrl", "<vi:file path='/a' group='wh&#9;eel'>x</vi:file>", "", "control" },
    { "user-colon", "<vi:user name='a:b'><vi:password locked='yes'/></vi:user>", "", "':'" },
    { "user-twice", "<vi:user name='a'/><vi:user name='a'/>", "", "given twice" },
    /* rejected: network */
    { "bad-ipv4", "<vi:network><vi:interface name='e'><vi:address>192.0.2.300/24</vi:address></vi:interface></vi:network>", "", "not an IPv4/IPv6" },
    { "bad-prefix", "<vi:network><vi:interface name='e'><vi:address>192.0.2.1/33</vi:address></vi:interface></vi:network>", "", "prefix" },
    { "no-prefix", "<vi:network><vi:interface name='e'><vi:address>192.0.2.1</vi:address></vi:interface></vi:network>", "", "prefix" },
    { "bad-ipv6", "<vi:network><vi:interface name='e'><vi:address>2001:db8:::1/64</vi:address></vi:interface></vi:network>", "", "not an IPv4/IPv6" },
    { "bad-gateway", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:gateway>gw</vi:gateway></vi:interface></vi:network>", "", "<gateway> 'gw'" },
    { "two-gateways", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:gateway>192.0.2.1</vi:gateway><vi:gateway>192.0.2.2</vi:gateway></vi:interface></vi:network>", "", "same address family" },
    /* DHCP's router and a static IPv4 gateway: two default routes (README, "Decisions") */
    { "dhcp-gateway4", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>", "", "<gateway> 192.0.2.1 with <dhcp/>" },
    { "dhcp-static-gateway4", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>", "", "with <dhcp/>" },
    { "gateway4-no-address", "<vi:network><vi:interface name='e'><vi:address>2001:db8::10/64</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>", "", "needs a static IPv4 <address>" },
    { "gateway6-no-address", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:gateway>fe80::1</vi:gateway></vi:interface></vi:network>", "", "needs a static IPv6 <address>" },
    { "bad-mac", "<vi:network><vi:interface name='e' mac='52:54:00:12:34'><vi:dhcp/></vi:interface></vi:network>", "", "MAC" },
    { "bad-iface", "<vi:network><vi:interface name='e/0'><vi:dhcp/></vi:interface></vi:network>", "", "interface name" },
    { "iface-empty", "<vi:network><vi:interface name='e'/></vi:network>", "", "needs <dhcp/>" },
    { "route-families", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:address>2001:db8::10/64</vi:address><vi:route to='198.51.100.0/24' via='2001:db8::1'/></vi:interface></vi:network>", "", "'to' is IPv4 and 'via' IPv6" },
    { "route-unreachable", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24' via='192.0.3.1'/></vi:interface></vi:network>", "", "192.0.3.1 is not reachable from the interface" },
    { "route-unreachable6-dhcp", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:route to='2001:db8:1::/48' via='2001:db8::1'/></vi:interface></vi:network>", "", "not reachable" },
    { "route-host-bits", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.1/24' via='192.0.2.1'/></vi:interface></vi:network>", "", "without host bits" },
    { "route-no-prefix", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.1' via='192.0.2.1'/></vi:interface></vi:network>", "", "NETWORK/PREFIX" },
    { "route-default-word", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='default' via='192.0.2.1'/></vi:interface></vi:network>", "", "NETWORK/PREFIX" },
    { "route-bad-via", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24' via='gw'/></vi:interface></vi:network>", "", "'via': 'gw'" },
    { "route-no-via", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24'/></vi:interface></vi:network>", "", "Element route failed to validate attributes" },
    { "route-metric", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24' via='192.0.2.1' metric='-1'/></vi:interface></vi:network>", "", "0 to 4294967295" },
    { "route-metric-big", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24' via='192.0.2.1' metric='4294967296'/></vi:interface></vi:network>", "", "0 to 4294967295" },
    { "route-twice", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:route to='198.51.100.0/24' via='192.0.2.1'/><vi:route to='198.51.100.0/24' via='192.0.2.2'/></vi:interface></vi:network>", "", "given twice with the same metric" },
    { "route-default-gateway", "<vi:network><vi:interface name='e'><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway><vi:route to='0.0.0.0/0' via='192.0.2.2' metric='10'/></vi:interface></vi:network>", "", "both give the default route" },
    { "route-default-dhcp", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:route to='0.0.0.0/0' via='10.0.2.2'/></vi:interface></vi:network>", "", "the DHCP lease gives the IPv4 default route" },
    { "mtu-low", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:mtu>67</vi:mtu></vi:interface></vi:network>", "", "from 68 to 65535" },
    { "mtu-high", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:mtu>65536</vi:mtu></vi:interface></vi:network>", "", "from 68 to 65535" },
    { "mtu-word", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:mtu>jumbo</vi:mtu></vi:interface></vi:network>", "", "from 68 to 65535" },
    { "mtu-twice", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:mtu>1500</vi:mtu><vi:mtu>1400</vi:mtu></vi:interface></vi:network>", "", "Extra element mtu" },
    { "mtu-ipv6", "<vi:network><vi:interface name='e'><vi:address>2001:db8::10/64</vi:address><vi:mtu>1279</vi:mtu></vi:interface></vi:network>", "", "at least 1280" },
    { "search-bad", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:search>exa_mple.com</vi:search></vi:interface></vi:network>", "", "<search> 'exa_mple.com'" },
    { "search-empty", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:search> </vi:search></vi:interface></vi:network>", "", "<search>" },
    { "search-twice", "<vi:network><vi:interface name='e'><vi:dhcp/><vi:search>a.example</vi:search><vi:search>a.example</vi:search></vi:interface></vi:network>", "", "given twice" },
    /* rejected: hostname, content */
    { "hostname-underscore", "<vi:hostname>web_1</vi:hostname>", "", "RFC 1123" },
    { "hostname-dash", "<vi:hostname>-web</vi:hostname>", "", "RFC 1123" },
    { "hostname-long-label", "<vi:hostname>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com</vi:hostname>", "", "1 to 63" },
    { "hostname-ctrl", "<vi:hostname>web&#7;1</vi:hostname>", "", "malformed XML" },
    { "hostname-tab", "<vi:hostname>web&#9;1</vi:hostname>", "", "RFC 1123" },
    { "bad-b64", "<vi:file path='/a' encoding='base64'>!!!!</vi:file>", "", "not valid base64" },
    { "meta-twice", "<vi:meta key='a'>1</vi:meta><vi:meta key='a'>2</vi:meta>", "", "key given twice" },
    /* rejected: identity, firstboot */
    { "identity-no-reset", "<vi:identity/>", "", "schema" },
    { "identity-maybe", "<vi:identity reset='maybe'/>", "", "schema" },
    { "identity-twice", "<vi:identity reset='yes'/><vi:identity reset='yes'/>", "", "schema" },
    { "identity-child", "<vi:identity reset='yes'><vi:hostname>h</vi:hostname></vi:identity>", "", "unknown child element <hostname>" },
    { "firstboot-empty", "<vi:firstboot>  \n </vi:firstboot>", "", "<firstboot>: the script is empty" },
    { "firstboot-b64-bad", "<vi:firstboot encoding='base64'>!!!!</vi:firstboot>", "", "<firstboot>: content is not valid base64" },
    { "firstboot-b64-empty", "<vi:firstboot encoding='base64'></vi:firstboot>", "", "<firstboot>: the script is empty" },
    { "firstboot-twice", "<vi:firstboot>a</vi:firstboot><vi:firstboot>b</vi:firstboot>", "", "schema" },
    { "firstboot-encoding", "<vi:firstboot encoding='hex'>41</vi:firstboot>", "", "schema" },
    { "firstboot-path", "<vi:firstboot path='/x'>a</vi:firstboot>", "", "unknown attribute 'path'" },
};

static char *
wrap (const Case *c)
{
    return g_strdup_printf ("<vi:inject xmlns:vi='" NS "' %s>%s</vi:inject>", c->attrs, c->body);
}

static void
test_case (gconstpointer data)
{
    const Case *c = data;
    g_autofree char *xml = wrap (c);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (xml, strlen (xml), NULL, &error);

    if (c->error == NULL) {
        g_assert_no_error (error);
        g_assert_nonnull (spec);
    } else {
        g_assert_null (spec);
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        if (strstr (error->message, c->error) == NULL) {
            g_test_message ("case %s: message '%s' does not mention '%s'", c->name, error->message,
                            c->error);
            g_test_fail ();
        }
        /* One line, always. */
        g_assert_null (strchr (error->message, '\n'));
    }
}

static void
test_limits (void)
{
    ViLimits limits = { 2048, 16, 10 };
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    g_autofree char *big = g_strnfill (4096, 'x');
    g_autofree char *doc = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'><vi:file path='/a'>%s</vi:file></vi:inject>", big);
    const char *file17 = "<vi:inject xmlns:vi='" NS "'><vi:file path='/a'>01234567890123456</vi:file></vi:inject>";
    GString *many = g_string_new ("<vi:inject xmlns:vi='" NS "'>");

    g_assert_null (vi_spec_parse (doc, strlen (doc), &limits, &e1));
    g_assert_error (e1, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (e1->message, "limit of 2048 bytes"));

    g_assert_null (vi_spec_parse (file17, strlen (file17), &limits, &e2));
    g_assert_error (e2, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (e2->message, "limit of 16 bytes"));

    for (int i = 0; i < 12; i++)
        g_string_append_printf (many, "<vi:meta key='k%d'>v</vi:meta>", i);
    g_string_append (many, "</vi:inject>");
    g_assert_null (vi_spec_parse (many->str, many->len, &limits, &e3));
    g_assert_error (e3, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (e3->message, "items_max"));
    g_string_free (many, TRUE);
}

static const char *const hostile[] = {
    "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><vi:inject xmlns:vi='" NS "'><vi:hostname>&e;</vi:hostname></vi:inject>",
    "<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'><!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'><!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'><!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'><!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'><!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'><!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'><!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>]><vi:inject xmlns:vi='" NS "'><vi:hostname>&lol9;</vi:hostname></vi:inject>",
    "<!DOCTYPE x SYSTEM 'http://192.0.2.1/x.dtd'><vi:inject xmlns:vi='" NS "'/>",
    "<vi:inject xmlns:vi='" NS "'><vi:hostname>&undefined;</vi:hostname></vi:inject>",
    "<vi:inject xmlns:vi='" NS "'><vi:hostname>x</vi:hostname>",
    "<vi:inject xmlns:vi='urn:other'/>",
    "<inject/>",
    "",
    "\xff\xfe<x/>",
};

static void
test_hostile (void)
{
    for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++) {
        g_autoptr(GError) error = NULL;
        gint64 t0 = g_get_monotonic_time ();
        g_autoptr(ViSpec) spec = vi_spec_parse (hostile[i], strlen (hostile[i]), NULL, &error);

        g_assert_null (spec);
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        /* An expansion bomb must fail at once, never be expanded. */
        g_assert_cmpint (g_get_monotonic_time () - t0, <, 100 * 1000);
        g_assert_null (strstr (error->message, "root:x:0"));
    }
}

static const char *const equivalent[] = {
    "<vi:inject xmlns:vi='" NS "' on-error='fail'><vi:hostname>h1</vi:hostname><vi:user name='root'><vi:ssh-key>" KEY_ED "</vi:ssh-key></vi:user><vi:file path='/b' encoding='base64' mode='0600'>aGVs\nbG8=</vi:file></vi:inject>",
    "<other:inject   on-error=\"fail\"  xmlns:other=\"" NS "\">\n  <other:user name=\"root\">\n    <other:ssh-key>\n" KEY_ED "\n</other:ssh-key>\n  </other:user>\n  <other:file mode=\"600\" encoding=\"base64\" path=\"/b\">aGVsbG8=</other:file>\n  <other:hostname> h1 </other:hostname>\n</other:inject>",
    "<inject xmlns='" NS "'><file path='/b' mode='0600' encoding='base64'>aG Vs bG8 =</file><user name='root'><ssh-key>" KEY_ED "</ssh-key></user><hostname>h1</hostname></inject>",
};

static void
test_canonical (void)
{
    g_autofree char *first = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS (equivalent); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ViSpec) spec = vi_spec_parse (equivalent[i], strlen (equivalent[i]), NULL, &error);
        g_autofree char *canon = NULL, *canon2 = NULL, *digest = NULL, *digest2 = NULL;
        g_autoptr(ViSpec) again = NULL;

        g_assert_no_error (error);
        canon = vi_spec_format (spec);
        digest = vi_spec_digest (spec);
        again = vi_spec_parse (canon, strlen (canon), NULL, &error);
        g_assert_no_error (error);
        canon2 = vi_spec_format (again);
        digest2 = vi_spec_digest (again);
        g_assert_cmpstr (canon, ==, canon2);
        g_assert_cmpstr (digest, ==, digest2);
        g_assert_cmpuint (strlen (digest), ==, 64);
        if (first == NULL)
            first = g_strdup (digest);
        else
            g_assert_cmpstr (digest, ==, first);
    }
}

/* The account attributes survive the canonical form, and the canonical
 * form is what the digest changes with. */
static void
test_user_account (void)
{
    const char *xml = "<vi:inject xmlns:vi='" NS "'><vi:user home='/srv/bob' name='bob' "
                      "shell='/bin/bash' groups='adm,audio' group='staff' uid='1500' create='yes'>"
                      "<vi:sudo nopasswd='yes'/></vi:user></vi:inject>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (xml, strlen (xml), NULL, &error);
    g_autoptr(ViSpec) again = NULL;
    g_autofree char *canon = NULL, *canon2 = NULL;
    const ViUser *u;

    g_assert_no_error (error);
    u = spec->users->pdata[0];
    g_assert_true (u->create);
    g_assert_true (u->has_uid);
    g_assert_cmpuint (u->uid, ==, 1500);
    g_assert_cmpstr (u->group, ==, "staff");
    g_assert_cmpuint (u->groups->len, ==, 2);
    g_assert_cmpstr (u->groups->pdata[1], ==, "audio");
    g_assert_cmpstr (u->shell, ==, "/bin/bash");
    g_assert_cmpstr (u->home, ==, "/srv/bob");
    g_assert_cmpint (u->sudo, ==, VI_SUDO_NOPASSWD);
    canon = vi_spec_format (spec);
    g_assert_nonnull (strstr (canon, "<vi:user name=\"bob\" create=\"yes\" uid=\"1500\" "
                              "group=\"staff\" groups=\"adm,audio\" shell=\"/bin/bash\" "
                              "home=\"/srv/bob\">\n    <vi:sudo nopasswd=\"yes\"/>\n  </vi:user>"));
    again = vi_spec_parse (canon, strlen (canon), NULL, &error);
    g_assert_no_error (error);
    canon2 = vi_spec_format (again);
    g_assert_cmpstr (canon, ==, canon2);
}

static void
test_digest_changes (void)
{
    const char *a = "<vi:inject xmlns:vi='" NS "'><vi:hostname>h1</vi:hostname></vi:inject>";
    const char *variants[] = {
        "<vi:inject xmlns:vi='" NS "'><vi:hostname>h2</vi:hostname></vi:inject>",
        "<vi:inject xmlns:vi='" NS "' policy='always'><vi:hostname>h1</vi:hostname></vi:inject>",
        "<vi:inject xmlns:vi='" NS "' on-error='warn'><vi:hostname>h1</vi:hostname></vi:inject>",
        "<vi:inject xmlns:vi='" NS "'><vi:hostname>h1</vi:hostname><vi:meta key='a'>b</vi:meta></vi:inject>",
        "<vi:inject xmlns:vi='" NS "'><vi:hostname>h1</vi:hostname><vi:identity reset='yes'/></vi:inject>",
        "<vi:inject xmlns:vi='" NS "'><vi:hostname>h1</vi:hostname><vi:firstboot>true</vi:firstboot></vi:inject>",
    };
    g_autoptr(ViSpec) base = vi_spec_parse (a, strlen (a), NULL, NULL);
    g_autofree char *d0 = vi_spec_digest (base);

    for (gsize i = 0; i < G_N_ELEMENTS (variants); i++) {
        g_autoptr(ViSpec) v = vi_spec_parse (variants[i], strlen (variants[i]), NULL, NULL);
        g_autofree char *d = vi_spec_digest (v);
        g_assert_nonnull (v);
        g_assert_cmpstr (d, !=, d0);
    }
}

static void
test_full_roundtrip (void)
{
    g_autofree char *path = g_build_filename (g_getenv ("VIRT_INJECT_SOURCE_ROOT"), "xml", "examples",
                                              "full.xml", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse_file (path, NULL, &error);
    g_autofree char *canon = NULL;
    g_autoptr(ViSpec) again = NULL;
    g_autofree char *canon2 = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (spec->users->len, ==, 3);
    g_assert_cmpuint (spec->files->len, ==, 2);
    g_assert_cmpuint (spec->interfaces->len, ==, 2);
    g_assert_cmpuint (spec->meta->len, ==, 2);
    g_assert_cmpstr (spec->target_disk, ==, "vda");
    g_assert_true (spec->identity_reset);
    g_assert_nonnull (spec->firstboot);
    g_assert_cmpstr (((ViInterface *) spec->interfaces->pdata[0])->mac, ==, "52:54:00:12:34:56");
    canon = vi_spec_format (spec);
    g_assert_nonnull (strstr (canon, "<vi:search>example.com</vi:search>\n"
                                     "      <vi:route to=\"198.51.100.0/24\" via=\"192.0.2.254\" metric=\"100\"/>\n"
                                     "      <vi:mtu>1450</vi:mtu>\n"));
    again = vi_spec_parse (canon, strlen (canon), NULL, &error);
    g_assert_no_error (error);
    canon2 = vi_spec_format (again);
    g_assert_cmpstr (canon, ==, canon2);
    {
        /* merging copies them */
        g_autoptr(ViSpec) merged = vi_spec_new ();
        g_autofree char *canon3 = NULL;

        vi_spec_merge (merged, spec);
        canon3 = vi_spec_format (merged);
        g_assert_cmpstr (canon3, ==, canon);
    }
    g_assert_true (g_bytes_equal (((ViFile *) spec->files->pdata[1])->content,
                                  ((ViFile *) again->files->pdata[1])->content));
}

static void
test_merge (void)
{
    const char *a = "<vi:inject xmlns:vi='" NS "'><vi:user name='root'><vi:ssh-key>" KEY_ED "</vi:ssh-key></vi:user><vi:file path='/a'>old</vi:file><vi:meta key='k'>1</vi:meta></vi:inject>";
    const char *b = "<vi:inject xmlns:vi='" NS "'><vi:user name='root'><vi:ssh-key>" KEY_ED " other-comment</vi:ssh-key><vi:ssh-key>" KEY_ED2 "</vi:ssh-key><vi:password locked='yes'/></vi:user><vi:file path='/a'>new</vi:file><vi:meta key='k'>2</vi:meta></vi:inject>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) sa = vi_spec_parse (a, strlen (a), NULL, &error);
    g_autoptr(ViSpec) sb = vi_spec_parse (b, strlen (b), NULL, &error);
    ViUser *u;
    ViFile *f;

    g_assert_no_error (error);
    vi_spec_merge (sa, sb);
    u = vi_spec_find_user (sa, "root");
    g_assert_cmpuint (u->ssh_keys->len, ==, 2);     /* the same key is not added twice */
    g_assert_cmpint (u->password_kind, ==, VI_PASSWORD_LOCKED);
    g_assert_cmpuint (sa->files->len, ==, 1);       /* a path given again replaces */
    f = sa->files->pdata[0];
    g_assert_cmpmem (g_bytes_get_data (f->content, NULL), 3, "new", 3);
    g_assert_cmpuint (sa->meta->len, ==, 1);
    g_assert_cmpstr (((ViMeta *) sa->meta->pdata[0])->value, ==, "2");
    g_assert_true (vi_spec_validate (sa, NULL, &error));
}

/* The first-boot script and the identity reset: their canonical form
 * parses back to the same request (base64 re-encoded unwrapped, the
 * decoded bytes kept), <identity reset='no'/> is the same request as none,
 * and a merge replaces the script and keeps a reset. */
static void
test_firstboot_identity (void)
{
    const char *a = "<vi:inject xmlns:vi='" NS "'><vi:firstboot encoding='base64'>IyEvYmluL3No\n"
                    "  CmVjaG8gaGkK</vi:firstboot><vi:identity reset='yes'/></vi:inject>";
    const char *no = "<vi:inject xmlns:vi='" NS "'><vi:identity reset='no'/></vi:inject>";
    const char *none = "<vi:inject xmlns:vi='" NS "'/>";
    const char *b = "<vi:inject xmlns:vi='" NS "'><vi:firstboot>echo new</vi:firstboot></vi:inject>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) sa = vi_spec_parse (a, strlen (a), NULL, &error);
    g_autoptr(ViSpec) sno = vi_spec_parse (no, strlen (no), NULL, &error);
    g_autoptr(ViSpec) snone = vi_spec_parse (none, strlen (none), NULL, &error);
    g_autoptr(ViSpec) sb = vi_spec_parse (b, strlen (b), NULL, &error);
    g_autofree char *canon = NULL, *canon2 = NULL, *dno = NULL, *dnone = NULL;
    g_autoptr(ViSpec) again = NULL;

    g_assert_no_error (error);
    g_assert_true (sa->identity_reset);
    g_assert_true (sa->firstboot_base64);
    g_assert_cmpmem (g_bytes_get_data (sa->firstboot, NULL), g_bytes_get_size (sa->firstboot),
                     "#!/bin/sh\necho hi\n", 18);
    canon = vi_spec_format (sa);
    g_assert_nonnull (strstr (canon, "<vi:identity reset=\"yes\"/>\n  <vi:firstboot encoding=\"base64\">"
                              "IyEvYmluL3NoCmVjaG8gaGkK</vi:firstboot>"));
    again = vi_spec_parse (canon, strlen (canon), NULL, &error);
    g_assert_no_error (error);
    canon2 = vi_spec_format (again);
    g_assert_cmpstr (canon, ==, canon2);
    g_assert_true (g_bytes_equal (sa->firstboot, again->firstboot));

    g_assert_false (sno->identity_reset);
    dno = vi_spec_digest (sno);
    dnone = vi_spec_digest (snone);
    g_assert_cmpstr (dno, ==, dnone);

    vi_spec_merge (sa, sb);
    g_assert_true (sa->identity_reset);
    g_assert_false (sa->firstboot_base64);
    g_assert_cmpmem (g_bytes_get_data (sa->firstboot, NULL), g_bytes_get_size (sa->firstboot),
                     "echo new", 8);
    g_assert_true (vi_spec_validate (sa, NULL, &error));
    g_assert_no_error (error);
}

static void
test_in_domain (void)
{
    const char *dom = "<domain type='kvm'><name>d</name><metadata><a:other xmlns:a='urn:a'/>"
                      "<zz:inject xmlns:zz='" NS "'><zz:hostname>h</zz:hostname></zz:inject>"
                      "</metadata></domain>";
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) doc = vi_xml_parse (dom, strlen (dom), 1 << 20, "domain", &error);
    xmlNode *node;
    g_autoptr(ViSpec) spec = NULL;

    g_assert_no_error (error);
    node = vi_spec_find_in_domain (xmlDocGetRootElement (doc));
    g_assert_nonnull (node);
    spec = vi_spec_from_node (node, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (spec->hostname, ==, "h");
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/spec/%s/%s", cases[i].error ? "reject" : "accept",
                                                 cases[i].name);
        g_test_add_data_func (path, &cases[i], test_case);
    }
    g_test_add_func ("/spec/limits", test_limits);
    g_test_add_func ("/spec/hostile-xml", test_hostile);
    g_test_add_func ("/spec/canonical", test_canonical);
    g_test_add_func ("/spec/digest-changes", test_digest_changes);
    g_test_add_func ("/spec/user-account", test_user_account);
    g_test_add_func ("/spec/full-roundtrip", test_full_roundtrip);
    g_test_add_func ("/spec/merge", test_merge);
    g_test_add_func ("/spec/firstboot-identity", test_firstboot_identity);
    g_test_add_func ("/spec/in-domain", test_in_domain);
    return g_test_run ();
}
