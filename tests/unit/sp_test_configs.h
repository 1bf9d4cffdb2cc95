/*
 * sp_test_configs: sample SP configurations shared by the certificate and
 * metadata tests: a public SP (IPA code), a private SP with a VAT number and
 * a private SP with only a fiscal code, each with what Avviso 29 v3 requires.
 */
#ifndef SP_TEST_CONFIGS_H
#define SP_TEST_CONFIGS_H

static const char public_ini[] = "[sp]\n"
                                 "entity_id = https://sp.comune.example.it/metadata\n"
                                 "base_url = https://sp.comune.example.it\n"
                                 "[organization]\n"
                                 "name = Comune di Città di Castello\n"
                                 "display_name = Città di Castello\n"
                                 "url = https://www.comune.example.it/\n"
                                 "locality = Città di Castello\n"
                                 "country = IT\n"
                                 "[contact]\n"
                                 "kind = public\n"
                                 "ipa_code = c_c745\n"
                                 "email = protocollo@comune.example.it\n";

static const char private_ini[] = "[sp]\n"
                                  "entity_id = https://sp.example.com/spid\n"
                                  "base_url = https://sp.example.com\n"
                                  "[organization]\n"
                                  "name = Esempio Società per Azioni\n"
                                  "display_name = Esempio S.p.A.\n"
                                  "url = https://www.example.com/\n"
                                  "locality = Forlì\n"
                                  "country = IT\n"
                                  "[contact]\n"
                                  "kind = private\n"
                                  "vat_number = IT12345678901\n"
                                  "email = spid@example.com\n"
                                  "[billing]\n"
                                  "vat_code = 12345678901\n"
                                  "name = Esempio S.p.A.\n"
                                  "address = Via Roma\n"
                                  "cap = 47121\n"
                                  "city = Forlì\n"
                                  "email = fatture@example.com\n";

static const char private_cf_ini[] = "[sp]\n"
                                     "entity_id = https://sp.example.org/spid\n"
                                     "[organization]\n"
                                     "name = Associazione Esempio\n"
                                     "display_name = Esempio\n"
                                     "[contact]\n"
                                     "kind = private\n"
                                     "fiscal_code = RSSMRA80A01H501U\n"
                                     "email = spid@example.org\n"
                                     "[billing]\n"
                                     "fiscal_code = RSSMRA80A01H501U\n"
                                     "name = Associazione Esempio\n"
                                     "address = Via Roma\n"
                                     "cap = 00100\n"
                                     "city = Roma\n"
                                     "email = fatture@example.org\n";

#endif /* SP_TEST_CONFIGS_H */
