// The payment page: Stripe.js's card element collects the card (its number never reaches
// the shop); on submit, Stripe.js turns it into a single-use token that the form posts, and
// the shop makes a PaymentMethod of it and confirms the order's PaymentIntent with that.
(function () {
  "use strict";
  const form = document.getElementById("pay-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  const stripe = Stripe(form.dataset.key);
  if (form.dataset.authenticate) {
    // The bank asks for 3-D Secure: Stripe.js shows its challenge; either way the page
    // is loaded again, and the shop asks Stripe how it ended.
    stripe.confirmCardPayment(form.dataset.authenticate).then(function () {
      window.location.replace(form.dataset.back);
    });
  }
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = document.getElementById("pay-button");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    const result = await stripe.createToken(card);
    if (result.error) {
      errors.textContent = (result.error && result.error.message) || "Check your card details.";
      errors.hidden = false;
      button.disabled = false;
      return;
    }
    form.elements.payment_method.value = result.token.id;
    form.submit();
  });
})();
