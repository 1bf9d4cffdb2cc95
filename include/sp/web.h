/*
 * web: the request handlers behind the route table of routes.c. Each gets
 * the app, the request, the response, and the caller's session when the
 * route requires one (NULL otherwise).
 */
#ifndef SP_WEB_H
#define SP_WEB_H

struct sp_app;
struct sp_req;
struct sp_resp;
struct sp_session;

typedef void (*sp_web_handler_fn)(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                                  const struct sp_session *s);

/* web_spid.c */
void sp_web_spid_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);
void sp_web_spid_acs(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s);

/* web_slo.c: GET /logout (SP-initiated Single Logout, or local logout), and
 * GET|POST /spid/slo (LogoutResponses and IdP-initiated LogoutRequests) */
void sp_web_logout(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                   const struct sp_session *s);
void sp_web_spid_slo(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s);

/* web_pages.c */
void sp_web_index(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                  const struct sp_session *s);
void sp_web_metadata(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s);
void sp_web_me(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
               const struct sp_session *s);
void sp_web_metrics(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                    const struct sp_session *s);
void sp_web_healthz(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                    const struct sp_session *s);
void sp_web_static(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                   const struct sp_session *s);
void sp_web_test_clock(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);

/* web_authz.c */
void sp_web_services(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                     const struct sp_session *s);
void sp_web_services_act(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s);
void sp_web_api_services(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s);
void sp_web_auth_check(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);
void sp_web_auth_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);
void sp_web_auth_denied(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s);

/* web_pin.c */
#define SP_FORM_COOKIE "spid_sp_form" /* double-submit token of anonymous forms */
void sp_web_form_token(struct sp_app *app, struct sp_req *req, struct sp_resp *resp, char out[33]);
void sp_web_pin_request_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s);
void sp_web_pin_request(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s);
void sp_web_pin_login_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                           const struct sp_session *s);
void sp_web_pin_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                      const struct sp_session *s);
void sp_web_pin_change(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);
void sp_web_pin_recover_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s);
void sp_web_pin_recover(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s);
void sp_web_pin_revoke(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s);

/* web_pin_convert.c */
void sp_web_pin_convert_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s);
void sp_web_pin_convert_modulo(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                               const struct sp_session *s);
void sp_web_pin_convert(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s);

/* web_cns.c */
void sp_web_cns_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                      const struct sp_session *s);
void sp_web_cns_complete(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                         const struct sp_session *s);

#endif /* SP_WEB_H */
