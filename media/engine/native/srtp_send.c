/*
 * The fan-out's per-packet work for one viewer, in one call: seal an RTP packet with SRTP AEAD_AES_128_GCM
 * (RFC 7714) and send it on the viewer's UDP socket.
 *
 * node:crypto makes a cipher object per packet (createCipheriv, setAAD, update, final, getAuthTag: five crossings
 * into C++ and a key schedule each time) and dgram's send goes through a lookup, a SendWrap and libuv. Here the key
 * schedule is made once per stream (an EVP_CIPHER_CTX kept with the key, given only a new IV per packet) and the
 * sealed packet goes straight to sendto(2) on the socket's descriptor. OpenSSL is the one Node is built with: its
 * symbols come from the node binary, as for any addon that includes Node's OpenSSL headers.
 *
 * The socket stays libuv's: a send that would block returns -EAGAIN and the caller hands the packet to dgram, which
 * queues it; the caller sends through dgram while anything is queued there, so packets leave in order.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <node_api.h>
#include <openssl/evp.h>

#define HEADER_BYTES 12
#define IV_BYTES 12
#define TAG_BYTES 16
#define KEY_BYTES 16

#define CHECK(env, call)                                \
  do {                                                  \
    if ((call) != napi_ok) {                            \
      napi_throw_error((env), NULL, "napi call failed"); \
      return NULL;                                      \
    }                                                   \
  } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static int buffer_arg(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, data, length) == napi_ok;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value result;
  CHECK(env, napi_create_int64(env, n, &result));
  return result;
}

static void free_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)data);
}

/* gcmContext(key: Buffer of 16 bytes): an external holding AES-128-GCM keyed with it, freed with its JS value. */
static napi_value gcm_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *key;
  size_t key_length;
  if (argc < 1 || !buffer_arg(env, argv[0], &key, &key_length) || key_length != KEY_BYTES)
    return throw_type(env, "key must be a 16-byte Buffer");
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, NULL) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    napi_throw_error(env, "ERR_CRYPTO_OPERATION_FAILED", "AES-128-GCM context");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, ctx, free_context, NULL, &external) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  return external;
}

/* sockaddr(ip: string, port: number): the destination as a Buffer for sendTo/sealTo, or null if ip is not an IP. */
static napi_value make_sockaddr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ip[INET6_ADDRSTRLEN + 1];
  size_t ip_length;
  uint32_t port;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &ip_length) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535)
    return throw_type(env, "sockaddr(ip: string, port: number)");
  struct sockaddr_in6 v6;
  struct sockaddr_in v4;
  void *address = NULL;
  size_t length = 0;
  memset(&v4, 0, sizeof v4);
  memset(&v6, 0, sizeof v6);
  if (inet_pton(AF_INET, ip, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons((uint16_t)port);
    address = &v4;
    length = sizeof v4;
  } else if (inet_pton(AF_INET6, ip, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons((uint16_t)port);
    address = &v6;
    length = sizeof v6;
  } else {
    napi_value null_value;
    CHECK(env, napi_get_null(env, &null_value));
    return null_value;
  }
  napi_value result;
  CHECK(env, napi_create_buffer_copy(env, length, address, NULL, &result));
  return result;
}

static int64_t send_datagram(int fd, const void *packet, size_t length, const void *address, size_t address_length) {
  ssize_t sent;
  do {
    sent = sendto(fd, packet, length, MSG_DONTWAIT, (const struct sockaddr *)address, (socklen_t)address_length);
  } while (sent < 0 && errno == EINTR);
  return sent < 0 ? -(int64_t)errno : (int64_t)sent;
}

/* sendTo(fd, address, packet): bytes sent, or -errno. */
static napi_value send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *address, *packet;
  size_t address_length, packet_length;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !buffer_arg(env, argv[1], &address, &address_length) || !buffer_arg(env, argv[2], &packet, &packet_length))
    return throw_type(env, "sendTo(fd: number, address: Buffer, packet: Buffer)");
  return int_value(env, send_datagram(fd, packet, packet_length, address, address_length));
}

/*
 * sealTo(context, fd, address, header, iv, payload, out): writes header, the payload encrypted with header as the
 * additional data, and the 16-byte tag into out (12 + payload + 16 bytes), then sends out on fd to address unless
 * fd is negative. Returns the bytes sent (or 0 when not sending), or -errno when the send failed; out is sealed in
 * every case.
 */
static napi_value seal_to(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  EVP_CIPHER_CTX *ctx;
  int32_t fd;
  void *address, *header, *iv, *payload, *out;
  size_t address_length, header_length, iv_length, payload_length, out_length;
  if (argc < 7 || napi_get_value_external(env, argv[0], (void **)&ctx) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || !buffer_arg(env, argv[2], &address, &address_length) ||
      !buffer_arg(env, argv[3], &header, &header_length) || !buffer_arg(env, argv[4], &iv, &iv_length) ||
      !buffer_arg(env, argv[5], &payload, &payload_length) || !buffer_arg(env, argv[6], &out, &out_length))
    return throw_type(env, "sealTo(context, fd, address, header, iv, payload, out)");
  if (header_length != HEADER_BYTES || iv_length != IV_BYTES ||
      out_length != HEADER_BYTES + payload_length + TAG_BYTES || payload_length > 0x7fffffff)
    return throw_type(env, "sealTo: header and iv are 12 bytes, out is 12 + payload + 16 bytes");
  unsigned char *sealed = out;
  int written;
  memcpy(sealed, header, HEADER_BYTES);
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
      EVP_EncryptUpdate(ctx, NULL, &written, header, HEADER_BYTES) != 1 ||
      EVP_EncryptUpdate(ctx, sealed + HEADER_BYTES, &written, payload, (int)payload_length) != 1 ||
      EVP_EncryptFinal_ex(ctx, sealed + HEADER_BYTES + written, &written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, sealed + HEADER_BYTES + payload_length) != 1) {
    napi_throw_error(env, "ERR_CRYPTO_OPERATION_FAILED", "AES-128-GCM seal");
    return NULL;
  }
  if (fd < 0) return int_value(env, 0);
  return int_value(env, send_datagram(fd, sealed, out_length, address, address_length));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"gcmContext", NULL, gcm_context, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sockaddr", NULL, make_sockaddr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealTo", NULL, seal_to, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
