/*
 * devidp_identities: the fixed test identities of the dev IdP, each with the
 * full SPID attribute set of spec §5 in the formats the rules prescribe, and
 * the loose Purpose policy (spec §6, PU-02/PU-03). Pure data, no I/O.
 */
#include <stddef.h>
#include <string.h>

#include "devidp_priv.h"

static const struct devidp_attr citizen_attrs[] = {
    {"spidCode", "SPTI0000000001"},
    {"name", "Mario"},
    {"familyName", "Rossi"},
    {"placeOfBirth", "H501"},
    {"countyOfBirth", "RM"},
    {"dateOfBirth", "1980-01-01"},
    {"gender", "M"},
    {"fiscalNumber", "TINIT-RSSMRA80A01H501U"},
    {"idCard", "cartaIdentita CA00000AA ComuneRoma 2021-05-10 2031-05-10"},
    {"expirationDate", "2030-12-31"},
    {"mobilePhone", "+393331234567"},
    {"email", "mario.rossi@example.it"},
    {"digitalAddress", "mario.rossi@pec.example.it"},
    {"address", "Via del Corso 12 00186 Roma RM"},
    {"domicileStreetAddress", "Via del Corso 12"},
    {"domicilePostalCode", "00186"},
    {"domicileMunicipality", "Roma"},
    {"domicileProvince", "RM"},
    {"domicileNation", "IT"},
    {NULL, NULL},
};

static const struct devidp_attr pensioner_attrs[] = {
    {"spidCode", "SPTI0000000002"},
    {"name", "Dario"},
    {"familyName", "Fo"},
    {"placeOfBirth", "L219"},
    {"countyOfBirth", "TO"},
    {"dateOfBirth", "1926-03-24"},
    {"gender", "M"},
    {"fiscalNumber", "TINIT-FOXDRA26C24L219Y"},
    {"idCard", "cartaIdentita CA11111BB ComuneTorino 2019-02-01 2029-02-01"},
    {"expirationDate", "2029-06-30"},
    {"mobilePhone", "+393471112223"},
    {"email", "dario.fo@example.it"},
    {"digitalAddress", "dario.fo@pec.example.it"},
    {"address", "Via Po 25 10124 Torino TO"},
    {"domicileStreetAddress", "Via Po 25"},
    {"domicilePostalCode", "10124"},
    {"domicileMunicipality", "Torino"},
    {"domicileProvince", "TO"},
    {"domicileNation", "IT"},
    {NULL, NULL},
};

static const struct devidp_attr professional_attrs[] = {
    {"spidCode", "SPTI0000000003"},
    {"name", "Giulia"},
    {"familyName", "Bianchi"},
    {"placeOfBirth", "F205"},
    {"countyOfBirth", "MI"},
    {"dateOfBirth", "1992-03-25"},
    {"gender", "F"},
    {"fiscalNumber", "TINIT-BNCGLI92C65F205C"},
    {"idCard", "passaporto YA1234567 QuesturaMilano 2022-09-15 2032-09-14"},
    {"expirationDate", "2031-03-31"},
    {"mobilePhone", "+393489876543"},
    {"email", "giulia.bianchi@studiobianchi.example.it"},
    {"digitalAddress", "giulia.bianchi@pec.ordineavvocatimilano.example.it"},
    {"address", "Corso Buenos Aires 8 20124 Milano MI"},
    {"domicileStreetAddress", "Corso Buenos Aires 8"},
    {"domicilePostalCode", "20124"},
    {"domicileMunicipality", "Milano"},
    {"domicileProvince", "MI"},
    {"domicileNation", "IT"},
    {NULL, NULL},
};

static const struct devidp_attr company_attrs[] = {
    {"spidCode", "SPTI0000000004"},
    {"name", "Gianfranco"},
    {"familyName", "Esposito"},
    {"placeOfBirth", "F839"},
    {"countyOfBirth", "NA"},
    {"dateOfBirth", "1975-11-30"},
    {"gender", "M"},
    {"fiscalNumber", "TINIT-SPSGFR75S30F839F"},
    {"companyName", "Esposito Costruzioni S.r.l."},
    {"companyFiscalNumber", "TINIT-00159560366"},
    {"ivaCode", "VATIT-00159560366"},
    {"registeredOffice", "Via Toledo 156 80134 Napoli NA"},
    {"idCard", "patenteGuida NA5551234X MCTCNapoli 2018-04-20 2028-04-20"},
    {"expirationDate", "2028-12-31"},
    {"mobilePhone", "+393395550001"},
    {"email", "g.esposito@espositocostruzioni.example.it"},
    {"digitalAddress", "espositocostruzioni@pec.example.it"},
    {"address", "Via Toledo 156 80134 Napoli NA"},
    {"domicileStreetAddress", "Via Toledo 156"},
    {"domicilePostalCode", "80134"},
    {"domicileMunicipality", "Napoli"},
    {"domicileProvince", "NA"},
    {"domicileNation", "IT"},
    {NULL, NULL},
};

static const struct devidp_identity identities[] = {
    {"citizen", "Mario Rossi (cittadino)", "Persona fisica, Roma, RSSMRA80A01H501U",
     DEVIDP_TYPE_CITIZEN, citizen_attrs},
    {"pensioner", "Dario Fo (pensionato)", "Persona fisica, Torino, FOXDRA26C24L219Y",
     DEVIDP_TYPE_CITIZEN, pensioner_attrs},
    {"professional", "Giulia Bianchi (professionista)",
     "Persona fisica per uso professionale, Milano, BNCGLI92C65F205C", DEVIDP_TYPE_PROFESSIONAL,
     professional_attrs},
    {"company", "Gianfranco Esposito (rappresentante legale)",
     "Uso professionale per la persona giuridica Esposito Costruzioni S.r.l., P.IVA 00159560366",
     DEVIDP_TYPE_COMPANY_PROFESSIONAL, company_attrs},
};

#define DEVIDP_N_IDENTITIES (sizeof(identities) / sizeof(identities[0]))

/* The anomalies a tester may ask for (spec §7.1, codes that reach the SP). */
static const char *const anomalies[] = {"nr19", "nr20", "nr21", "nr22", "nr23", "nr25", "nr30"};

unsigned devidp_identity_count(void)
{
    return (unsigned)DEVIDP_N_IDENTITIES;
}

const struct devidp_identity *devidp_identity_at(unsigned i)
{
    return i < DEVIDP_N_IDENTITIES ? &identities[i] : NULL;
}

const struct devidp_identity *devidp_identity_find(const char *key)
{
    if (key == NULL)
        return NULL;
    for (size_t i = 0; i < DEVIDP_N_IDENTITIES; i++)
        if (strcmp(identities[i].key, key) == 0)
            return &identities[i];
    return NULL;
}

const char *devidp_identity_attr(const struct devidp_identity *who, const char *name)
{
    for (const struct devidp_attr *a = who->attrs; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0)
            return a->value;
    return NULL;
}

/*
 * Loose PU-02: a citizen identity (type 1) never satisfies a Purpose, and
 * PG (legal person) wants type 4. Other combinations are let through so
 * tests can exercise the SP's own checks (PU-04).
 */
bool devidp_purpose_allows(const char *purpose, const struct devidp_identity *who)
{
    if (purpose == NULL)
        return true;
    if (who->type == DEVIDP_TYPE_CITIZEN)
        return false;
    if (strcmp(purpose, "PG") == 0)
        return who->type == DEVIDP_TYPE_COMPANY_PROFESSIONAL;
    return true;
}

bool devidp_anomaly_valid(const char *code)
{
    if (code == NULL)
        return false;
    for (size_t i = 0; i < sizeof(anomalies) / sizeof(anomalies[0]); i++)
        if (strcmp(anomalies[i], code) == 0)
            return true;
    return false;
}
