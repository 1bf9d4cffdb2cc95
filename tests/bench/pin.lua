-- pin.lua: POST /pin/login with codice fiscale + PIN, one fixed form for
-- every request (the double-submit token is any random value repeated in
-- the cookie and the field). Arguments after "--": CF PIN TOKEN.
-- Each request costs one scrypt and, when right, a new session and an
-- audit entry. done() is report.lua's.

local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
   local cf, pin, token = args[1], args[2], args[3]
   wrk.method = "POST"
   wrk.body = "csrf=" .. token .. "&cf=" .. cf .. "&pin=" .. pin .. "&next=%2Fservices"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.headers["Cookie"] = "spid_sp_form=" .. token
end
