package conformance.grpcjava;

/** The two pick_first policies grpc-java 1.85.1 ships; one adapter process runs one of them. */
enum PickFirstVariant {
  /**
   * PickFirstLeafLoadBalancer (one subchannel per address, Happy Eyeballs): what
   * GRPC_EXPERIMENTAL_ENABLE_NEW_PICK_FIRST=true selects, run with GRPC_PF_USE_HAPPY_EYEBALLS=true.
   */
  LEAF("leaf", "pick_first leaf"),
  /**
   * PickFirstLoadBalancer (one subchannel holding every address): the production default of
   * 1.85.1 (PickFirstLoadBalancerProvider, GRPC_EXPERIMENTAL_ENABLE_NEW_PICK_FIRST unset).
   */
  LEGACY("legacy", "pick_first legacy");

  final String flag;
  final String label;

  PickFirstVariant(String flag, String label) {
    this.flag = flag;
    this.label = label;
  }
}
