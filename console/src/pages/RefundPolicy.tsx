export function RefundPolicy() {
  return (
    <main className="auth">
      <h1>Refund policy</h1>
      <p>
        <strong>Plans.</strong> You can cancel a plan at any time; it keeps serving until the end of the
        period you paid for and does not renew. A plan never changes or renews into another plan without you.
      </p>
      <p>
        <strong>Credits.</strong> Credits you have not used can be refunded within 30 days of purchase: write
        to support with the organization and the purchase. The refunded share of the purchase is taken back
        from your balance; credits already spent on usage are not refundable.
      </p>
      <p>
        <a href="/plans">Back to plans</a>
      </p>
    </main>
  );
}
