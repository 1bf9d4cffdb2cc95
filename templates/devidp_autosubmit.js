/* Submit the SAML form of the dev IdP as soon as the page is loaded. */
(function () {
    var f = document.getElementById("saml-autosubmit");
    if (f) {
        f.submit();
    }
})();
