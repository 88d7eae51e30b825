#include "zk/sasl.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <openssl/crypto.h>
#include <sasl/sasl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace zkarrow::zk {
namespace {

// Cyrus SASL keeps global state (plugins, the mutex hooks it was built
// without): every call into it is made under this lock. An exchange is a few
// short steps per connection, so the lock costs nothing measurable.
std::mutex& CyrusMutex() {
  static std::mutex mutex;
  return mutex;
}

Status InitOnce() {
  static int rc = sasl_client_init(nullptr);
  if (rc != SASL_OK) {
    return Status::Internal(std::string("initializing Cyrus SASL: ") +
                            sasl_errstring(rc, nullptr, nullptr));
  }
  return Status::Ok();
}

sasl_conn_t* Conn(void* connection) { return static_cast<sasl_conn_t*>(connection); }

// Cyrus stores every callback as int (*)(void) and calls it by its id's
// type; void (*)(void) is the type GCC lets any function pointer pass through.
template <typename Function>
int (*AsProc(Function* function))(void) {
  return reinterpret_cast<int (*)(void)>(reinterpret_cast<void (*)(void)>(function));
}

// GSS-API's major and minor status as text.
std::string GssError(OM_uint32 major, OM_uint32 minor) {
  std::string text;
  for (auto [code, type] : {std::pair{major, GSS_C_GSS_CODE}, {minor, GSS_C_MECH_CODE}}) {
    if (code == 0) continue;
    OM_uint32 context = 0;
    do {
      OM_uint32 ignored;
      gss_buffer_desc message = GSS_C_EMPTY_BUFFER;
      if (GSS_ERROR(gss_display_status(&ignored, code, type, GSS_C_NO_OID, &context, &message))) {
        break;
      }
      if (!text.empty()) text += ": ";
      text.append(static_cast<const char*>(message.value), message.length);
      gss_release_buffer(&ignored, &message);
    } while (context != 0);
  }
  return text;
}

// Initiator credentials for `principal` (empty: the default one) from
// `keytab` (empty: the credential cache). With a keytab the tickets go to a
// memory cache of this credential's own, never to the user's cache.
Result<gss_cred_id_t> AcquireCredentials(const std::string& principal, const std::string& keytab) {
  OM_uint32 minor = 0;
  gss_name_t name = GSS_C_NO_NAME;
  if (!principal.empty()) {
    gss_buffer_desc text{principal.size(), const_cast<char*>(principal.data())};
    OM_uint32 major = gss_import_name(&minor, &text, GSS_C_NT_USER_NAME, &name);
    if (GSS_ERROR(major)) {
      return Status::InvalidArgument("Kerberos principal '" + principal +
                                     "': " + GssError(major, minor));
    }
  }
  static std::atomic<uint64_t> caches{0};
  const std::string ccache =
      "MEMORY:zkarrow-" + std::to_string(::getpid()) + "-" + std::to_string(caches.fetch_add(1));
  gss_key_value_element_desc elements[] = {{"client_keytab", keytab.c_str()},
                                           {"ccache", ccache.c_str()}};
  gss_key_value_set_desc store{2, elements};
  gss_cred_id_t credentials = GSS_C_NO_CREDENTIAL;
  OM_uint32 major =
      keytab.empty()
          ? gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_INITIATE,
                             &credentials, nullptr, nullptr)
          : gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_INITIATE,
                                  &store, &credentials, nullptr, nullptr);
  if (name != GSS_C_NO_NAME) gss_release_name(&minor, &name);
  if (GSS_ERROR(major)) {
    return Status::Unauthenticated(
        "Kerberos credentials for " + (principal.empty() ? "the default principal" : principal) +
        (keytab.empty() ? " from the credential cache (run kinit, or give --keytab)"
                        : " from the keytab " + keytab) +
        ": " + GssError(major, minor));
  }
  return credentials;
}

}  // namespace

// What Cyrus asks for during the exchange; the password lives here, in a
// sasl_secret_t wiped on destruction.
struct SaslClient::Callbacks {
  std::string user;
  sasl_secret_t* secret = nullptr;
  gss_cred_id_t credentials = GSS_C_NO_CREDENTIAL;
  std::vector<sasl_callback_t> list;

  ~Callbacks() {
    if (credentials != GSS_C_NO_CREDENTIAL) {
      OM_uint32 minor;
      gss_release_cred(&minor, &credentials);
    }
    if (secret != nullptr) {
      OPENSSL_cleanse(secret->data, secret->len);
      std::free(secret);
    }
  }

  static int GetName(void* context, int, const char** result, unsigned* length) {
    auto* self = static_cast<Callbacks*>(context);
    *result = self->user.c_str();
    if (length != nullptr) *length = static_cast<unsigned>(self->user.size());
    return SASL_OK;
  }
  static int GetSecret(sasl_conn_t*, void* context, int, sasl_secret_t** result) {
    auto* self = static_cast<Callbacks*>(context);
    if (self->secret == nullptr) return SASL_FAIL;
    *result = self->secret;
    return SASL_OK;
  }
  // ZooKeeper's DIGEST-MD5 server offers one realm (zk-sasl-md5): take it.
  static int GetRealm(void*, int, const char** available, const char** result) {
    *result = available != nullptr && available[0] != nullptr ? available[0] : "";
    return SASL_OK;
  }
};

Status SaslClient::Check(const SaslOptions& options) {
  if (options.mechanism == "DIGEST-MD5") {
    if (options.user.empty()) return Status::InvalidArgument("SASL DIGEST-MD5 needs a user");
    if (options.password.empty()) {
      return Status::InvalidArgument("SASL DIGEST-MD5 needs a password (found an empty one)");
    }
  } else if (options.mechanism != "GSSAPI") {
    return Status::InvalidArgument("SASL mechanism '" + options.mechanism +
                                   "' is not supported: expected DIGEST-MD5 or GSSAPI");
  }
  if (options.service.empty()) return Status::InvalidArgument("SASL service name is empty");
  std::lock_guard lock(CyrusMutex());
  return InitOnce();
}

SaslClient::SaslClient(std::string mechanism)
    : mechanism_(std::move(mechanism)), callbacks_(std::make_unique<Callbacks>()) {}

Result<std::unique_ptr<SaslClient>> SaslClient::Start(const SaslOptions& options,
                                                      const std::string& server_host) {
  ZKA_RETURN_IF_ERROR(Check(options));
  std::unique_ptr<SaslClient> client(new SaslClient(options.mechanism));
  Callbacks& callbacks = *client->callbacks_;
  callbacks.user = options.user;
  if (options.mechanism == "DIGEST-MD5") {
    const std::string& password = options.password;
    callbacks.secret =
        static_cast<sasl_secret_t*>(std::calloc(1, sizeof(sasl_secret_t) + password.size()));
    if (callbacks.secret == nullptr) throw std::bad_alloc();
    callbacks.secret->len = password.size();
    std::memcpy(callbacks.secret->data, password.data(), password.size());
    callbacks.list = {
        {SASL_CB_AUTHNAME, AsProc(&Callbacks::GetName), &callbacks},
        {SASL_CB_USER, AsProc(&Callbacks::GetName), &callbacks},
        {SASL_CB_PASS, AsProc(&Callbacks::GetSecret), &callbacks},
        {SASL_CB_GETREALM, AsProc(&Callbacks::GetRealm), &callbacks},
    };
  } else {
    // GSSAPI: the authorization id is the authenticated principal (an
    // empty user); the credentials are set on the connection below.
    callbacks.user.clear();
    callbacks.list = {{SASL_CB_USER, AsProc(&Callbacks::GetName), &callbacks}};
    if (!options.keytab.empty() || !options.user.empty()) {
      ZKA_ASSIGN_OR_RETURN(callbacks.credentials, AcquireCredentials(options.user, options.keytab));
    }
  }
  callbacks.list.push_back({SASL_CB_LIST_END, nullptr, nullptr});

  const std::string host = options.mechanism == "DIGEST-MD5" ? kDigestMd5Host
                           : options.host.empty()            ? server_host
                                                             : options.host;
  const std::string where = "SASL " + options.mechanism + " for " + options.service + "/" + host;
  std::lock_guard lock(CyrusMutex());
  sasl_conn_t* connection = nullptr;
  int rc = sasl_client_new(options.service.c_str(), host.c_str(), nullptr, nullptr,
                           callbacks.list.data(), 0, &connection);
  if (rc != SASL_OK) {
    return Status::Internal(where + ": " + sasl_errstring(rc, nullptr, nullptr));
  }
  client->connection_ = connection;
  // No security layer: ZooKeeper never wraps its packets (TLS protects them
  // when that is wanted).
  sasl_security_properties_t properties{};
  properties.min_ssf = 0;
  properties.max_ssf = 0;
  properties.maxbufsize = 0;
  sasl_setprop(connection, SASL_SEC_PROPS, &properties);
  if (callbacks.credentials != GSS_C_NO_CREDENTIAL) {
    sasl_setprop(connection, SASL_GSS_CREDS, callbacks.credentials);
  }

  const char* out = nullptr;
  unsigned out_length = 0;
  const char* chosen = nullptr;
  rc =
      sasl_client_start(connection, options.mechanism.c_str(), nullptr, &out, &out_length, &chosen);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    std::string detail = sasl_errdetail(connection);
    if (rc == SASL_NOMECH) {
      detail += " (is the plugin installed? Debian: libsasl2-modules" +
                std::string(options.mechanism == "GSSAPI" ? "-gssapi-mit)" : ")");
    }
    return Status::Unauthenticated(where + ": " + detail);
  }
  client->initial_token_.assign(out, out + out_length);
  client->complete_ = rc == SASL_OK;
  return client;
}

SaslClient::~SaslClient() {
  if (connection_ != nullptr) {
    sasl_conn_t* connection = Conn(connection_);
    std::lock_guard lock(CyrusMutex());
    sasl_dispose(&connection);
  }
}

Result<std::vector<uint8_t>> SaslClient::Step(std::span<const uint8_t> server_token) {
  if (complete_) return std::vector<uint8_t>();
  // Cyrus takes the token as a length and pointer; the span may be empty.
  const char* out = nullptr;
  unsigned out_length = 0;
  std::lock_guard lock(CyrusMutex());
  int rc = sasl_client_step(Conn(connection_), reinterpret_cast<const char*>(server_token.data()),
                            static_cast<unsigned>(server_token.size()), nullptr, &out, &out_length);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    return Status::Unauthenticated("SASL " + mechanism_ + ": " + sasl_errdetail(Conn(connection_)));
  }
  complete_ = rc == SASL_OK;
  return std::vector<uint8_t>(out, out + out_length);
}

}  // namespace zkarrow::zk
