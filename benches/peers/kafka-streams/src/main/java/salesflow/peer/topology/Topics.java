package salesflow.peer.topology;

import java.util.List;

/** Topic names: the four inputs the analyses read and the six outputs they write, with their prefixes. */
public record Topics(String inputPrefix, String outputPrefix) {
    public static final List<String> INPUTS = List.of("orders", "customers", "products", "fx_rates");
    public static final List<String> OUTPUTS = List.of("sales_total", "sales_by_category", "sales_by_segment",
            "sales_by_day", "sales_by_customer", "top_products_by_units");

    public String input(String name) {
        return inputPrefix + name;
    }

    public String output(String name) {
        return outputPrefix + name;
    }

    public List<String> inputs() {
        return INPUTS.stream().map(this::input).toList();
    }

    public List<String> outputs() {
        return OUTPUTS.stream().map(this::output).toList();
    }
}
